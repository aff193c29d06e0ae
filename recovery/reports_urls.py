"""The report's and the outcomes' API paths, spliced into `reservations/api/urls.py` under /api/v1/.

Plain paths (no `include`): the permission table walks /api/v1/'s patterns one by one.
"""

from django.urls import path

from . import reports_api

urlpatterns = [
    path("restaurants/<slug:slug>/reports/recovery/", reports_api.RecoveryReportView.as_view(),
         name="report-recovery"),
    path("restaurants/<slug:slug>/reports/overbooking-cap/", reports_api.OverbookingCapApplyView.as_view(),
         name="report-overbooking-cap"),
    path("reservations/<int:pk>/outcomes/", reports_api.ReservationOutcomesView.as_view(),
         name="reservation-outcomes"),
]
