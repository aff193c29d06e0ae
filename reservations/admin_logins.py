"""The logins in the admin: failures (and the action that lifts a pause), successes. A manager sees their own
restaurants' staff only (access.login_failures_for); an admin sees every one, unknown usernames too."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy, ngettext

from . import access
from .models import LoginFailure, LoginSuccess
from .services.logins import login_locks_clear


class ManagersReadOnly(admin.ModelAdmin):
    """Scoped to the staff of the restaurants the user manages (`access.login_*_for`): a login record has no
    restaurant of its own, only a username."""

    def has_module_permission(self, request) -> bool:
        return access.manages_any(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return access.manages_any(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # cleared, never deleted: the record stays


@admin.register(LoginFailure)
class LoginFailureAdmin(ManagersReadOnly):
    list_display = ["username", "address", "at", "cleared_at", "cleared_by"]
    list_filter = [("cleared_at", admin.EmptyFieldListFilter)]
    search_fields = ["username", "address"]
    date_hierarchy = "at"
    actions = ["clear_locks"]

    def get_queryset(self, request):
        return access.login_failures_for(request.user).select_related("cleared_by")

    @admin.action(description=gettext_lazy("Lift the login pause of these usernames"))
    def clear_locks(self, request, queryset) -> None:
        usernames = set(queryset.values_list("username", flat=True))
        cleared = login_locks_clear(usernames=usernames, by=request.user)
        self.message_user(request, ngettext("%(count)s failed login cleared: %(names)s may log in again.",
                                            "%(count)s failed logins cleared: %(names)s may log in again.",
                                            cleared) % {"count": cleared, "names": ", ".join(sorted(usernames))},
                          messages.SUCCESS if cleared else messages.INFO)


@admin.register(LoginSuccess)
class LoginSuccessAdmin(ManagersReadOnly):
    list_display = ["username", "address", "at", "user_agent"]
    search_fields = ["username", "address"]
    date_hierarchy = "at"

    def get_queryset(self, request):
        return access.login_successes_for(request.user)
