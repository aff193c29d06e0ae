"""Who may do what: Django groups `host` and `manager`; a superuser is an admin."""

HOST = "host"
MANAGER = "manager"


def _groups(user) -> set[str]:
    if not hasattr(user, "_cxhost_groups"):
        user._cxhost_groups = set(user.groups.values_list("name", flat=True))
    return user._cxhost_groups


def is_staff_member(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or _groups(user) & {HOST, MANAGER}))


def is_manager(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or MANAGER in _groups(user)))
