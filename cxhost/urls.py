from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from reservations.api.sms import SmsInboundView, SmsStatusView

from .health import healthz

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("desk/", include("reservations.desk.urls")),
    path("healthz/", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as a file of its own: the page needs no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include("reservations.api.urls")),
    path("b/", include("reservations.guest_page.urls")),
    path("recovery/", include("recovery.urls")),
    path("sms/inbound/", SmsInboundView.as_view(), name="sms-inbound"),
    path("sms/status/", SmsStatusView.as_view(), name="sms-status"),
]

handler404 = "cxhost.errors.not_found"
handler500 = "cxhost.errors.server_error"
