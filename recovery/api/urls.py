"""Recovery's API paths, listed into `reservations.api.urls` (plain paths, so the tenancy table sees each)."""

from django.urls import path

from . import views

urlpatterns = [
    path("restaurants/<slug:slug>/recovery-cases/", views.RecoveryCasesView.as_view(), name="recovery-cases"),
    path("restaurants/<slug:slug>/recovery-cases/<int:pk>/", views.RecoveryCaseDetailView.as_view(),
         name="recovery-case"),
    path("restaurants/<slug:slug>/recovery-cases/<int:pk>/actions/", views.RecoveryCaseActionsView.as_view(),
         name="recovery-case-actions"),
    path("restaurants/<slug:slug>/recovery-cases/<int:pk>/resolve/", views.RecoveryCaseResolveView.as_view(),
         name="recovery-case-resolve"),
    path("restaurants/<slug:slug>/recovery-cases/<int:pk>/lose/", views.RecoveryCaseLoseView.as_view(),
         name="recovery-case-lose"),
    # Before the book's `reservations/<id>/<action>/`, which would take "mistakes" for an unknown action.
    path("reservations/<int:pk>/mistakes/", views.ReservationMistakesView.as_view(), name="reservation-mistakes"),
]
