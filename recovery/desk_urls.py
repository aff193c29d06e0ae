"""Recovery's part of the front desk, mounted under `/desk/<slug>/` by `reservations.desk.urls`."""

from django.urls import path

from . import desk

urlpatterns = [
    path("r/<int:pk>/mistake/", desk.mistake, name="desk-mistake"),
    path("r/<int:pk>/outcomes/", desk.outcomes, name="desk-outcomes"),
    path("recovery/", desk.recovery_panel, name="desk-recovery"),
    path("recovery/overdue/", desk.overdue_badge, name="desk-overdue"),
    path("case/<int:pk>/<str:action>/", desk.case_action, name="desk-case-action"),
]
