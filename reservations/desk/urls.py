"""The front desk: `/desk/<slug>/…`, every action a POST with CSRF answered with htmx fragments."""

from django.urls import include, path

from recovery import desk_urls as recovery_desk_urls

from . import views

urlpatterns = [
    path("", views.desk_home, name="desk"),
    path("<slug:slug>/", views.desk_page, name="desk-page"),
    path("<slug:slug>/board/", views.desk_board, name="desk-board"),
    # Before the booking's `r/<id>/<action>/`: `r/<id>/mistake/` and `r/<id>/outcomes/` are recovery's.
    path("<slug:slug>/", include(recovery_desk_urls)),
    path("<slug:slug>/r/<int:pk>/", views.booking_panel, name="desk-booking"),
    path("<slug:slug>/r/<int:pk>/seat-tables/", views.seat_form, name="desk-seat-form"),
    path("<slug:slug>/r/<int:pk>/<str:action>/", views.booking_action, name="desk-booking-action"),
    path("<slug:slug>/new/", views.booking_form, name="desk-new"),
    path("<slug:slug>/slots/", views.slots, name="desk-slots"),
    path("<slug:slug>/book/", views.booking_create, name="desk-book"),
    path("<slug:slug>/walk-in/", views.walk_in, name="desk-walk-in"),
    path("<slug:slug>/walk-in/now/", views.walk_in_now, name="desk-walk-in-now"),
    path("<slug:slug>/refusal/", views.refusal, name="desk-refusal"),
    path("<slug:slug>/undo/", views.undo, name="desk-undo"),
    path("<slug:slug>/w/<int:pk>/<str:action>/", views.waitlist_action, name="desk-waitlist-action"),
    path("<slug:slug>/guest/<int:pk>/", views.guest_panel, name="desk-guest"),
    path("<slug:slug>/comp/<int:pk>/<str:action>/", views.comp_action, name="desk-comp-action"),
]
