from django.urls import path

from recovery import reports_urls
from recovery.api.urls import urlpatterns as recovery_urlpatterns

from . import gesture_views, views

urlpatterns = [
    *recovery_urlpatterns,  # first: `reservations/<id>/mistakes/` before the book's `reservations/<id>/<action>/`
    path("auth/token/", views.AuthTokenView.as_view(), name="auth-token"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("restaurants/<slug:slug>/availability/", views.AvailabilityView.as_view(), name="availability"),
    path("restaurants/<slug:slug>/reservations/", views.RestaurantReservationsView.as_view(), name="reservations"),
    path("restaurants/<slug:slug>/walk-ins/", views.WalkInsView.as_view(), name="walk-ins"),
    path("restaurants/<slug:slug>/waitlist/", views.WaitlistView.as_view(), name="waitlist"),
    path("restaurants/<slug:slug>/refusals/", views.RefusalsView.as_view(), name="refusals"),
    path("restaurants/<slug:slug>/comps/", views.CompsView.as_view(), name="comps"),
    path("restaurants/<slug:slug>/staff-notes/", views.StaffNotesView.as_view(), name="staff-notes"),
    path("comps/<int:pk>/approve/", views.CompApproveView.as_view(), name="comp-approve"),
    path("comps/<int:pk>/present/", views.CompPresentView.as_view(), name="comp-present"),
    path("comps/<int:pk>/reaction/", gesture_views.CompReactionView.as_view(), name="comp-reaction"),
    path("reservations/<int:pk>/", views.ReservationDetailView.as_view(), name="reservation"),
    # Before the lifecycle's `<action>`: these words are not actions.
    path("reservations/<int:pk>/gestures/", gesture_views.ReservationGesturesView.as_view(),
         name="reservation-gestures"),
    path("reservations/<int:pk>/history/", views.ReservationHistoryView.as_view(), name="reservation-history"),
    *reports_urls.urlpatterns,
    path("reservations/<int:pk>/<str:action>/", views.ReservationActionView.as_view(), name="reservation-action"),
    path("waitlist/<int:pk>/notify/", views.WaitlistNotifyView.as_view(), name="waitlist-notify"),
    path("waitlist/<int:pk>/seat/", views.WaitlistSeatView.as_view(), name="waitlist-seat"),
    path("waitlist/<int:pk>/leave/", views.WaitlistLeaveView.as_view(), name="waitlist-leave"),
    path("guests/", views.GuestsView.as_view(), name="guests"),
    path("guests/<int:pk>/", views.GuestDetailView.as_view(), name="guest"),
    path("guests/<int:pk>/export/", views.GuestExportView.as_view(), name="guest-export"),
    path("guests/<int:pk>/erase/", views.GuestEraseView.as_view(), name="guest-erase"),
]
