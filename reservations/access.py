"""Tenancy: the one way a caller reaches a restaurant's rows.

Restaurants are walled off from each other. Staff are members of restaurants
(`StaffMembership`); guests belong to a restaurant group and are shared by its
restaurants. Every view, admin page and front-desk action gets its restaurant,
reservations, waitlist entries and guests from the functions here, never from
a bare `Model.objects`, so a new view cannot forget the wall: another
restaurant's book answers 403 (`NotYourRestaurant`), its rows by id 404
(`NotFound`, the same answer as for a row that does not exist, so ids leak
nothing), and lists simply never contain them. A superuser is an admin of
every restaurant.

A role is the membership's (`StaffMembership.role`), so it is asked with the
restaurant in hand: `is_manager(user, restaurant)`. A manager at one
restaurant is a host at another where they are a host; the back office shows
only the restaurants a user manages (`restaurants_managed_by`).
"""

from __future__ import annotations

from django.db.models import QuerySet

from .errors import NotFound, NotYourRestaurant
from .models import (
    Gesture,
    Guest,
    LoginFailure,
    LoginSuccess,
    Refusal,
    Reservation,
    Restaurant,
    RestaurantGroup,
    StaffMembership,
    WaitlistEntry,
)
from .roles import MANAGER


def _roles(user) -> dict[int, str]:
    """The user's role by restaurant id, read once per request's user object."""
    if not hasattr(user, "_cxhost_roles"):
        user._cxhost_roles = dict(StaffMembership.objects.filter(user=user).values_list("restaurant_id", "role"))
    return user._cxhost_roles


def _signed_in(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_staff_member(user) -> bool:
    """A member of any restaurant's staff (or an admin): who may open the desk and the staff API at all."""
    return _signed_in(user) and (user.is_superuser or bool(_roles(user)))


def is_manager(user, restaurant: Restaurant | int) -> bool:
    """A manager of this restaurant (or an admin): a manager elsewhere is, here, whatever their membership says."""
    if not _signed_in(user):
        return False
    restaurant_id = restaurant if isinstance(restaurant, int) else restaurant.pk
    return user.is_superuser or _roles(user).get(restaurant_id) == MANAGER


def manages_any(user) -> bool:
    """A manager somewhere (or an admin): who holds the back office's model permissions."""
    return _signed_in(user) and (user.is_superuser or MANAGER in _roles(user).values())


def restaurants_for(user) -> QuerySet[Restaurant]:
    """The restaurants whose books this user works on, in any role."""
    if not is_staff_member(user):
        return Restaurant.objects.none()
    if user.is_superuser:
        return Restaurant.objects.all()
    return Restaurant.objects.filter(memberships__user=user)


def restaurants_managed_by(user) -> QuerySet[Restaurant]:
    """The restaurants where this user is manager: the back office's wall."""
    if not is_staff_member(user):
        return Restaurant.objects.none()
    if user.is_superuser:
        return Restaurant.objects.all()
    return Restaurant.objects.filter(memberships__user=user, memberships__role=MANAGER)


def groups_for(user) -> QuerySet[RestaurantGroup]:
    """The restaurant groups whose guests this user may see."""
    return RestaurantGroup.objects.filter(restaurants__in=restaurants_for(user)).distinct()


def groups_managed_by(user) -> QuerySet[RestaurantGroup]:
    """The restaurant groups with a restaurant this user manages: whose guests' own data they may export,
    erase or edit in the back office."""
    return RestaurantGroup.objects.filter(restaurants__in=restaurants_managed_by(user)).distinct()


def manages_guest(user, guest: Guest) -> bool:
    """A manager at one of the guest's group's restaurants (a guest is the chain's, not one restaurant's)."""
    return groups_managed_by(user).filter(pk=guest.group_id).exists()


_BY_SLUG_SQL = f"SELECT * FROM {Restaurant._meta.db_table} WHERE slug = %s"


def restaurant_public(slug: str, *, with_group: bool = True) -> Restaurant:
    """A restaurant as the public sees it (availability, online booking): any existing one.

    `with_group=False` for the hottest read, a day's availability, which never reads the group: a plain query
    (`raw` still converts every column as a queryset would) costs a third of the queryset's CPU (0.3 ms against
    0.9 with the group joined, issue 9); the group, if read after all, is one more query."""
    if with_group:
        restaurant = Restaurant.objects.select_related("group").filter(slug=slug).first()
    else:
        restaurant = next(iter(Restaurant.objects.raw(_BY_SLUG_SQL, [slug])), None)
    if restaurant is None:
        raise NotFound(f"No restaurant {slug!r}.")
    return restaurant


def restaurant_for(user, slug: str) -> Restaurant:
    """The restaurant whose book a member of staff works on; another restaurant's book is 403."""
    restaurant = restaurant_public(slug)
    if not is_member(user, restaurant):
        raise NotYourRestaurant()
    return restaurant


def is_member(user, restaurant: Restaurant) -> bool:
    return restaurants_for(user).filter(pk=restaurant.pk).exists()


def staff_usernames_for(user) -> QuerySet:
    """The (lower-cased) usernames of the staff of a manager's restaurants, as the login records hold them."""
    from django.contrib.auth import get_user_model
    from django.db.models.functions import Lower

    if user is None or not manages_any(user):
        return get_user_model().objects.none().values_list("username", flat=True)
    staff = get_user_model().objects.filter(restaurant_memberships__restaurant__in=restaurants_managed_by(user))
    return staff.annotate(lowered=Lower("username")).values_list("lowered", flat=True)


def login_failures_for(user) -> QuerySet[LoginFailure]:
    """Failed logins a manager may see and clear: their own restaurants' staff's (an admin: every one, unknown
    usernames too)."""
    if user is not None and user.is_authenticated and user.is_superuser:
        return LoginFailure.objects.all()
    return LoginFailure.objects.filter(username__in=staff_usernames_for(user))


def login_successes_for(user) -> QuerySet[LoginSuccess]:
    if user is not None and user.is_authenticated and user.is_superuser:
        return LoginSuccess.objects.all()
    return LoginSuccess.objects.filter(username__in=staff_usernames_for(user))


def reservations_for(user) -> QuerySet[Reservation]:
    return Reservation.objects.filter(restaurant__in=restaurants_for(user))


def reservations_managed_by(user) -> QuerySet[Reservation]:
    return Reservation.objects.filter(restaurant__in=restaurants_managed_by(user))


def reservation_for(user, pk: int) -> Reservation:
    return _one(reservations_for(user).select_related("restaurant"), pk, "reservation")


def reservation_for_guest(token: str) -> Reservation:
    """The booking a guest's own link opens: the secret token is the whole key, for whoever holds it.

    A wrong token is as absent as a booking that never was; nothing else about the guest comes with it.
    """
    reservation = Reservation.objects.select_related("restaurant").filter(guest_token=token).first()
    if reservation is None:
        raise NotFound("No such booking.")
    return reservation


def waitlist_entries_for(user) -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.filter(restaurant__in=restaurants_for(user))


def waitlist_entry_for(user, pk: int) -> WaitlistEntry:
    return _one(waitlist_entries_for(user).select_related("restaurant"), pk, "waitlist entry")


def refusals_for(user) -> QuerySet[Refusal]:
    return Refusal.objects.filter(restaurant__in=restaurants_for(user))


def comps_for(user) -> QuerySet[Gesture]:
    """The complimentary gestures of the caller's restaurants."""
    return Gesture.objects.filter(restaurant__in=restaurants_for(user))


def comp_for(user, pk: int) -> Gesture:
    return _one(comps_for(user).select_related("restaurant"), pk, "comp")


def guests_for(user) -> QuerySet[Guest]:
    return Guest.objects.filter(group__in=groups_for(user))


def guests_managed_by(user) -> QuerySet[Guest]:
    return Guest.objects.filter(group__in=groups_managed_by(user))


def guest_for(user, pk: int) -> Guest:
    return _one(guests_for(user), pk, "guest")


def guest_home_for(user, guest: Guest) -> Restaurant | None:
    """The caller's restaurant of this guest's group (the first, for members of several): a phone typed
    for the guest without its country code is read in its country."""
    return restaurants_for(user).filter(group=guest.group_id).order_by("pk").first()


def _one(rows: QuerySet, pk: int, what: str):
    """The row with this id among the caller's; another restaurant's is as absent as a row that never was."""
    row = rows.filter(pk=pk).first()
    if row is None:
        raise NotFound(f"No {what} {pk}.")
    return row
