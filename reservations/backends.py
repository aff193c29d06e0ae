"""The back office's model permissions come from the membership's role, not from Django groups.

A manager at any restaurant holds the admin's view/add/change/delete permissions on the book's models
(`roles.MANAGER_MODELS`); which rows those open is the admin's scoping, to the restaurants they manage
(`access.restaurants_managed_by`). A host holds none, so a host has no admin, whatever else they are.
"""

from __future__ import annotations

from django.contrib.auth.backends import BaseBackend

from . import access
from .roles import MANAGER_MODELS

ACTIONS = ("view", "add", "change", "delete")
MANAGER_PERMISSIONS = frozenset(
    f"{app}.{action}_{model}" for app, models in MANAGER_MODELS.items() for model in models for action in ACTIONS
)


class MembershipRoleBackend(BaseBackend):
    """Authorisation only: it authenticates nobody (`authenticate` is the base's, answering None)."""

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if obj is not None or not access.manages_any(user_obj):
            return set()
        return set(MANAGER_PERMISSIONS)

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        return app_label in MANAGER_MODELS and access.manages_any(user_obj)
