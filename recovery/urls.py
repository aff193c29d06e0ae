from django.urls import path

from . import views

urlpatterns = [
    path("<slug:slug>/report/", views.report_page, name="recovery-report"),
    path("<slug:slug>/report/apply-cap/", views.cap_apply, name="recovery-cap-apply"),
]
