"""Read-side queries: the day's plan for the engine, the book, guests, the waitlist.

A day's availability costs two queries when the restaurant's configuration and
the day's plan are cached (the restaurant row and the day's book versions), four
when the plan is not (its bookings and held tables too), and a constant handful
more when the configuration is not: nothing here grows with tables, bookings or
history.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import CharField, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, NullIf
from phonenumber_field.phonenumber import PhoneNumber
from redis.exceptions import RedisError

from cxhost.redis_guard import describe

from . import engine
from .dbfunctions import EpochMicroseconds, moment_of
from .models import (
    BookVersion,
    Closure,
    Gesture,
    Guest,
    HoldBackRule,
    InboundMessage,
    OutboundMessage,
    OverbookingPolicy,
    Refusal,
    Reservation,
    ReservationTable,
    Restaurant,
    RestaurantGroup,
    ServiceHours,
    SetupVersion,
    StaffNote,
    Table,
    TableCombination,
    TurnTime,
    WaitlistEntry,
)

logger = logging.getLogger(__name__)

_CONFIG_CACHE: OrderedDict[tuple[int, str], engine.RestaurantConfig] = OrderedDict()
_CONFIG_CACHE_SIZE = 64
_cache_lock = threading.Lock()


def restaurant_config(restaurant: Restaurant, *, version: int | None = None) -> engine.RestaurantConfig:
    """The restaurant's set-up as engine data, cached per process until it changes.

    Keyed by the set-up's version (`SetupVersion`, bumped by database triggers on every write to the set-up,
    whatever made it) and `config_token`: a set-up changed outside the ORM is seen by the next read.
    `version` is the set-up version the caller has just read (`day_plan` reads it with the day's versions);
    without it, one small query reads it.
    """
    if version is None:
        version = setup_version(restaurant)
    key = (restaurant.pk, f"{restaurant.config_token}:{version}")
    with _cache_lock:
        config = _CONFIG_CACHE.get(key)
        if config is not None:
            _CONFIG_CACHE.move_to_end(key)
            return config
    config = _shared_config(key)
    if config is None:
        config = _load_config(restaurant)
        _share_config(key, config)
    # Kept at once, not on commit: every request would otherwise reload it inside its transaction. The config
    # token in the key covers a set-up written through the ORM in a transaction that then rolls back; only SQL
    # written, read and rolled back in one transaction, then another SQL write, could meet a kept copy.
    _keep_config(key, config)
    return config


def _keep_config(key: tuple[int, str], config: engine.RestaurantConfig) -> None:
    with _cache_lock:
        _CONFIG_CACHE[key] = config
        _CONFIG_CACHE.move_to_end(key)
        while len(_CONFIG_CACHE) > _CONFIG_CACHE_SIZE:
            _CONFIG_CACHE.popitem(last=False)


_SETUP_VERSION_SQL = f"SELECT version FROM {SetupVersion._meta.db_table} WHERE restaurant_id = %s"


def setup_version(restaurant: Restaurant) -> int:
    """The restaurant's set-up version: 0 before its set-up was first written."""
    with connection.cursor() as cursor:
        cursor.execute(_SETUP_VERSION_SQL, [restaurant.pk])
        row = cursor.fetchone()
    return row[0] if row else 0


# Behind each process's own copy, the shared cache (Redis when REDIS_URL is set): a set-up loaded by one worker
# serves every process and node, so a chain's many restaurants are loaded once, not once per process.
# Bump the version when the engine's RestaurantConfig changes shape: old copies are then never read.
_SHARED_CONFIG_VERSION = 1
_SHARED_CONFIG_SECONDS = 24 * 3600


def _shared_key(key: tuple[int, str]) -> str:
    return f"restaurant-setup:v{_SHARED_CONFIG_VERSION}:{key[0]}:{key[1]}"


def _shared_config(key: tuple[int, str]) -> engine.RestaurantConfig | None:
    try:
        config = cache.get(_shared_key(key))
    except Exception as exc:  # Redis down, or a copy this code cannot read: load it from the database instead
        _shared_cache_failed(exc)
        return None
    return config if isinstance(config, engine.RestaurantConfig) else None


def _share_config(key: tuple[int, str], config: engine.RestaurantConfig) -> None:
    try:
        cache.set(_shared_key(key), config, _SHARED_CONFIG_SECONDS)
    except Exception as exc:
        _shared_cache_failed(exc)


def _shared_cache_failed(exc: Exception) -> None:
    # Down or hung: one line (/healthz/ reports it), and the set-up comes from the database.
    if isinstance(exc, RedisError):
        logger.info("shared cache unavailable for a restaurant's set-up (%s)", describe(exc))
    else:
        logger.warning("shared cache unusable for a restaurant's set-up", exc_info=True)


def clear_config_cache() -> None:
    """Forget the set-ups and day plans this process holds, and the set-ups' shared copies: the next request
    loads them cold."""
    with _cache_lock:
        keys = list(_CONFIG_CACHE)
        _CONFIG_CACHE.clear()
        _SETUP_SEEN.clear()
        _PLAN_CACHE.clear()
    try:
        cache.delete_many([_shared_key(key) for key in keys])
    except Exception as exc:
        _shared_cache_failed(exc)


def _load_config(restaurant: Restaurant) -> engine.RestaurantConfig:
    tables = {t.pk: t for t in Table.objects.filter(restaurant=restaurant, is_active=True)}
    seatings = [engine.Seating((t.pk,), (t.name,), t.min_covers, t.max_covers) for t in tables.values()]
    members: dict[int, list[int]] = {}
    sizes: dict[int, tuple[int, int]] = {}
    for combo_id, table_id, low, high in TableCombination.tables.through.objects.filter(
        tablecombination__restaurant=restaurant
    ).values_list("tablecombination_id", "table_id", "tablecombination__min_covers", "tablecombination__max_covers"):
        members.setdefault(combo_id, []).append(table_id)
        sizes[combo_id] = (low, high)
    for combo_id, table_ids in members.items():
        if all(t in tables for t in table_ids):  # a combination with an inactive table is unusable
            ordered = tuple(sorted(table_ids))
            seatings.append(engine.Seating(ordered, tuple(tables[t].name for t in ordered), *sizes[combo_id]))

    held_tables: dict[int, set[int]] = defaultdict(set)
    for rule_id, table_id in HoldBackRule.tables.through.objects.filter(
        holdbackrule__restaurant=restaurant, holdbackrule__is_active=True
    ).values_list("holdbackrule_id", "table_id"):
        held_tables[rule_id].add(table_id)
    hold_rules = tuple(
        engine.HoldRule(frozenset(r.weekdays), r.starts, r.ends, frozenset(held_tables[r.pk]), r.release_minutes_before)
        for r in HoldBackRule.objects.filter(pk__in=held_tables.keys())
    )

    policy = OverbookingPolicy.objects.filter(restaurant=restaurant, is_active=True).first()
    return engine.RestaurantConfig(
        tz=restaurant.tz,
        slot_minutes=restaurant.slot_minutes,
        horizon_days=restaurant.booking_horizon_days,
        seatings=tuple(seatings),
        services=tuple(
            engine.ServiceRule(s.weekday, s.opens, s.last_seating, s.closes)
            for s in ServiceHours.objects.filter(restaurant=restaurant)
        ),
        holds=hold_rules,
        policy=(
            engine.Policy(policy.max_overbooked_covers, policy.max_party_size, frozenset(policy.channels))
            if policy
            else None
        ),
        turn_times=tuple(
            engine.TurnRule(t.min_party, t.max_party, t.minutes) for t in TurnTime.objects.filter(restaurant=restaurant)
        ),
        closures=frozenset(Closure.objects.filter(restaurant=restaurant).values_list("date", flat=True)),
    )


def day_bounds(config: engine.RestaurantConfig, day: date) -> tuple[datetime, datetime]:
    """The stretch of time whose bookings can touch the day's services (overnight ones included)."""
    return _plan_bounds(engine.plan_day(config, day, ()))


def _plan_bounds(plan: engine.DayPlan) -> tuple[datetime, datetime]:
    # One service day, not the next day's lunch too: from the first opening to the last table's turn ending.
    window = engine.book_window(plan)
    if window is not None:
        return window
    # A weekday without service hours (a booking made before they changed may still be seated): midnight to
    # the night after, as wide as any service could reach.
    start = datetime.combine(plan.date, datetime.min.time()).replace(tzinfo=plan.config.tz)
    return start, start + timedelta(days=2)


def _reach_back(config: engine.RestaurantConfig, start: datetime) -> datetime:
    """The earliest start of a booking that may still be at a table at `start`.

    A day of slack beyond the longest turn: a turn time shortened after a booking was made leaves that booking
    its longer end."""
    return start - config.longest_turn - timedelta(days=1)


def active_bookings(
    restaurant: Restaurant, config: engine.RestaurantConfig, start: datetime, end: datetime
) -> list[engine.Booking]:
    """Active bookings overlapping [start, end), by start, in one query on the (restaurant, start) index."""
    rows = (
        Reservation.objects.filter(
            restaurant=restaurant,
            status__in=Reservation.ACTIVE_STATUSES,
            # Bound `start` from below too, so the index is used instead of scanning history.
            start__gte=_reach_back(config, start),
            start__lt=end,
            end__gt=start,
        )
        # Times as epoch microseconds: integers cost nothing to read, where aware datetimes cost more than the
        # query (see `EpochMicroseconds`); each booking's two become datetimes once, below, not per table row.
        .values_list("id", EpochMicroseconds("start"), EpochMicroseconds("end"), "party_size", "overbooked",
                     "assignments__table_id")
        # In the index's order: ordered by id, SQLite walks the restaurant-only index (its rows come in id order,
        # no sort) and reads the restaurant's whole history; by start it searches (restaurant, start).
        .order_by("start", "id")
    )
    bookings: dict[int, list] = {}
    for pk, b_start, b_end, covers, overbooked, table_id in rows:
        entry = bookings.get(pk)
        if entry is None:
            entry = bookings[pk] = [b_start, b_end, covers, overbooked, []]
        if table_id is not None:
            entry[4].append(table_id)
    moments: dict[int, datetime] = {}  # a day's bookings share a few dozen start and end times
    day = []
    for pk, (b_start, b_end, covers, overbooked, tables) in bookings.items():
        start = moments.get(b_start)
        if start is None:
            start = moments[b_start] = moment_of(b_start)
        end = moments.get(b_end)
        if end is None:
            end = moments[b_end] = moment_of(b_end)
        day.append(engine.Booking(start, end, covers, tuple(sorted(tables)) if len(tables) > 1 else tuple(tables),
                                  overbooked, pk))
    return day


# Tables held outside the book for one guest, as engine bookings with a `hold` name: each source is
# `(restaurant, start, end) -> [(engine.Booking, the E.164 phone it is held for)]`. Apps built on reservations
# register theirs (the recovery app: a freed table offered to a turned-away guest), so every path that asks
# the engine sees them taken — except a booking for the very guest they are held for (`held_for`).
# A source reads rows starting no earlier than a day before `start`, from tables whose writes bump the book
# versions (`dbtriggers`): the plan cache below is only as fresh as that.
HOLD_SOURCES: list[Callable[[Restaurant, datetime, datetime], list[tuple[engine.Booking, str]]]] = []


class _BookedDay(NamedTuple):
    """A day's plan as read at `versions`: its bookings, its holds (each with the phone it is held for)."""

    versions: tuple[tuple[object, int], ...]
    bookings: tuple[engine.Booking, ...]
    holds: tuple[tuple[engine.Booking, str], ...]
    plan: engine.DayPlan


# The day plans this process has read, reused while the day's book versions are unchanged: a large restaurant's
# day is 1,200 bookings to read and index, where its versions are one small query (issue 9). Keyed by restaurant,
# set-up and day; an entry is kept only once the transaction that read it has committed (see `day_plan`).
_PLAN_CACHE: OrderedDict[tuple[int, str, date], _BookedDay] = OrderedDict()
_PLAN_CACHE_SIZE = 128


_BOOK_VERSIONS_SQL = (
    f"SELECT day, version FROM {BookVersion._meta.db_table} "
    "WHERE restaurant_id = %s AND day >= %s AND day <= %s ORDER BY day"
)
# The same, with the set-up's version first (its `day` is NULL): one query tells whether the set-up and the day
# are still the ones a process keeps.
_VERSIONS_SQL = (
    f"SELECT 0, NULL, version FROM {SetupVersion._meta.db_table} WHERE restaurant_id = %s UNION ALL "
    f"SELECT 1, day, version FROM {BookVersion._meta.db_table} "
    "WHERE restaurant_id = %s AND day >= %s AND day <= %s ORDER BY 1, 2"
)


def book_versions(restaurant: Restaurant, since: datetime, until: datetime) -> tuple[tuple[object, int], ...]:
    """The book's versions for every UTC date a booking starting in [since, until] falls on: one query.

    Plain SQL: it runs on every availability answer, and building the queryset cost four times the query
    (0.58 ms of CPU against 0.12, issue 9). The days come as the database gives them (a date, or SQLite's
    text): they are only ever compared with what the same database gave before."""
    with connection.cursor() as cursor:
        cursor.execute(_BOOK_VERSIONS_SQL, [restaurant.pk, since.astimezone(UTC).date().isoformat(),
                                            until.astimezone(UTC).date().isoformat()])
        return tuple(map(tuple, cursor.fetchall()))


def versions(restaurant: Restaurant, since: datetime, until: datetime) -> tuple[int, tuple[tuple[object, int], ...]]:
    """The set-up's version and `book_versions(restaurant, since, until)`, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSIONS_SQL, [restaurant.pk, restaurant.pk, since.astimezone(UTC).date().isoformat(),
                                       until.astimezone(UTC).date().isoformat()])
        rows = cursor.fetchall()
    setup = rows[0][2] if rows and rows[0][0] == 0 else 0
    return setup, tuple((day, version) for kind, day, version in rows if kind == 1)


# The set-up version each restaurant had when this process last read it: `day_plan` starts from that set-up and
# checks it with the day's versions, reading the set-up's version on its own only when it changed.
_SETUP_SEEN: dict[int, int] = {}


def forget_day_plans() -> None:
    """Forget every day plan this process keeps: the next read of each day is cold."""
    with _cache_lock:
        _PLAN_CACHE.clear()


def _keep_day_plan(key: tuple[int, str, date], booked: _BookedDay) -> None:
    with _cache_lock:
        _PLAN_CACHE[key] = booked
        _PLAN_CACHE.move_to_end(key)
        while len(_PLAN_CACHE) > _PLAN_CACHE_SIZE:
            _PLAN_CACHE.popitem(last=False)


def _booked_day(restaurant: Restaurant, config: engine.RestaurantConfig, empty: engine.DayPlan, setup: int,
                book: tuple[tuple[object, int], ...]) -> _BookedDay:
    """The day's plan for `book` (its versions, read before anything else: rows read after their versions can
    only be newer than the key says — a later read then misses and reloads — never older)."""
    start, end = _plan_bounds(empty)
    versions = (("setup", setup), *book)
    key = (restaurant.pk, str(restaurant.config_token), empty.date)
    with _cache_lock:
        booked = _PLAN_CACHE.get(key)
        if booked is not None and booked.versions == versions:
            _PLAN_CACHE.move_to_end(key)
            return booked
    bookings = active_bookings(restaurant, config, start, end)
    holds = [held for source in HOLD_SOURCES for held in source(restaurant, start, end)]
    booked = _BookedDay(versions, tuple(bookings), tuple(holds),
                        empty.with_bookings([*bookings, *(booking for booking, _ in holds)]))
    # Kept only if what was read commits: inside a transaction it may include this transaction's own writes,
    # whose version bumps a rollback would undo (and a later writer would then reuse). Outside one, at once.
    transaction.on_commit(lambda: _keep_day_plan(key, booked))
    return booked


def day_plan(
    restaurant: Restaurant, day: date, *, exclude_reservation: int | None = None, held_for: str = ""
) -> engine.DayPlan:
    """The day's services, holds and active bookings as the engine's plan; one query when this process has
    read the day since it last changed, three when not.

    `exclude_reservation` leaves one booking out (it is being moved or seated again); `held_for` is the phone
    of the guest asking, for whom tables held by a recovery offer are not taken.
    """
    # The set-up last seen gives the day's bounds; its version is read with the day's. Changed since, the set-up
    # is read again and the bounds with it (a second query, only then).
    seen = _SETUP_SEEN.get(restaurant.pk)
    if seen is None:
        seen = setup_version(restaurant)
    config = restaurant_config(restaurant, version=seen)
    empty = engine.plan_day(config, day, ())
    start, end = _plan_bounds(empty)
    setup, book = versions(restaurant, _reach_back(config, start), end)
    if setup != seen:
        config = restaurant_config(restaurant, version=setup)
        empty = engine.plan_day(config, day, ())
        start, end = _plan_bounds(empty)
        setup, book = versions(restaurant, _reach_back(config, start), end)
    _SETUP_SEEN[restaurant.pk] = setup  # a hint only: checked against the database on every read
    booked = _booked_day(restaurant, config, empty, setup, book)
    held_for_them = bool(held_for) and any(phone == held_for for _, phone in booked.holds)
    if exclude_reservation is None and not held_for_them:
        return booked.plan
    bookings = [b for b in booked.bookings if b.id != exclude_reservation]
    bookings += [b for b, phone in booked.holds if not held_for or phone != held_for]
    return empty.with_bookings(bookings)


def _reservation_queryset() -> QuerySet[Reservation]:
    return (
        Reservation.objects.select_related("restaurant", "guest", "override_by")
        .prefetch_related(
            Prefetch("assignments", queryset=ReservationTable.objects.select_related("table").order_by("table_id"))
        )
        .annotate(
            guest_visits=Count(
                "guest__reservations", filter=Q(guest__reservations__status=Reservation.Status.COMPLETED)
            )
        )
    )


def reservation_get(pk: int) -> Reservation:
    return _reservation_queryset().get(pk=pk)


def local_day_range(restaurant: Restaurant, day: date) -> tuple[datetime, datetime]:
    """Local midnight to local midnight (23 or 25 hours on a DST day)."""
    tz = restaurant.tz
    start = datetime.combine(day, datetime.min.time()).replace(tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time()).replace(tzinfo=tz)
    return start, end


def book_for_day(restaurant: Restaurant, day: date) -> QuerySet[Reservation]:
    """The day's book in the restaurant's time zone, every status, in start order."""
    start, end = local_day_range(restaurant, day)
    # Explicit: Meta.ordering is not applied to a query with an aggregate (the visit count).
    book = _reservation_queryset().filter(restaurant=restaurant, start__gte=start, start__lt=end)
    return book.order_by("start", "id")


def guests_with_visits(guests: QuerySet[Guest]) -> QuerySet[Guest]:
    """`guests` (already scoped to the caller, see `access.guests_for`) with their completed visits counted."""
    return guests.annotate(visits=Count("reservations", filter=Q(reservations__status=Reservation.Status.COMPLETED)))


def guest_with_visits(guest: Guest) -> Guest:
    return guests_with_visits(Guest.objects.filter(pk=guest.pk)).get()


def guest_by_phone(group: RestaurantGroup, phone: PhoneNumber) -> Guest | None:
    """The group's proven profile with this phone (never an anonymous booking's unverified record)."""
    return Guest.objects.filter(group=group, phone=phone, phone_verified=True).first()


def refusals_for_day(restaurant: Restaurant, day: date) -> QuerySet[Refusal]:
    """Every "no" given for the day's slots, in slot order."""
    start, end = local_day_range(restaurant, day)
    return Refusal.objects.filter(restaurant=restaurant, start__gte=start, start__lt=end).order_by("start", "id")


def waitlist_entry_get(pk: int) -> WaitlistEntry:
    return WaitlistEntry.objects.select_related("restaurant", "guest").get(pk=pk)


def waiting_parties(restaurant: Restaurant, *, now: datetime) -> list[WaitlistEntry]:
    """Tonight's line, in order: parties waiting since the service under way at `now` opened.

    A party still waiting from an earlier service left the list when that
    service closed (see `waitlist_expire`), whatever its stored status says;
    outside service hours the list is empty. Each entry carries its
    restaurant and `guest_first_visit`, so listing it costs no query per party.
    """
    under_way = engine.service_under_way(restaurant_config(restaurant), now)
    if under_way is None:
        return []
    _, service = under_way
    entries = list(
        WaitlistEntry.objects.filter(
            restaurant=restaurant, status=WaitlistEntry.Status.WAITING,
            created_at__gte=service.opens, created_at__lt=service.closes,
        )
        .select_related("guest")
        .annotate(guest_first_visit=~Exists(
            Reservation.objects.filter(guest=OuterRef("guest"), status=Reservation.Status.COMPLETED)
        ))
        .order_by("created_at", "id")
    )
    for entry in entries:
        entry.restaurant = restaurant
    return entries


def stale_waiting_parties(restaurant: Restaurant, *, now: datetime) -> QuerySet[WaitlistEntry]:
    """Parties stored as waiting that joined before the service under way at `now` (or any, between services)."""
    under_way = engine.service_under_way(restaurant_config(restaurant), now)
    since = under_way[1].opens if under_way else now
    return WaitlistEntry.objects.filter(restaurant=restaurant, status=WaitlistEntry.Status.WAITING,
                                        created_at__lt=since)


# --- what the floor is told --------------------------------------------------------------------------


def last_visit(guest: Guest, *, exclude_reservation: int | None = None) -> Reservation | None:
    """The guest's latest completed visit at any restaurant of their group, or None for a first visit."""
    visits = Reservation.objects.filter(guest=guest, status=Reservation.Status.COMPLETED)
    if exclude_reservation is not None:
        visits = visits.exclude(pk=exclude_reservation)
    return visits.select_related("restaurant").order_by("-start", "-id").first()


# Give the task sent on commit its chance first; after this long, the sweep assumes it was never sent.
UNPREPARED_GRACE = timedelta(seconds=30)


def reservations_unprepared(*, now: datetime, limit: int) -> list[int]:
    """Active bookings still ahead (or under way) whose gestures and notes were never prepared, oldest first."""
    return list(
        Reservation.objects.filter(prepared_at__isnull=True, end__gt=now, created_at__lte=now - UNPREPARED_GRACE,
                                   status__in=Reservation.ACTIVE_STATUSES)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def gestures_for_day(restaurant: Restaurant, day: date) -> QuerySet[Gesture]:
    """The gestures for the day's bookings, in the bookings' start order, with what the floor shows beside them."""
    start, end = local_day_range(restaurant, day)
    return (
        Gesture.objects.filter(restaurant=restaurant, reservation__start__gte=start, reservation__start__lt=end)
        .select_related("restaurant", "reservation", "guest", "approved_by", "presented_by", "proposed_by",
                        "reaction_by")
        .order_by("reservation__start", "reservation_id", "id")
    )


def staff_notes_for_day(restaurant: Restaurant, day: date) -> QuerySet[StaffNote]:
    start, end = local_day_range(restaurant, day)
    return (
        StaffNote.objects.filter(restaurant=restaurant, reservation__start__gte=start, reservation__start__lt=end)
        .select_related("restaurant", "reservation")
        .order_by("reservation__start", "reservation_id", "kind")
    )


def gesture_get(pk: int) -> Gesture:
    return Gesture.objects.select_related("restaurant", "reservation", "guest", "approved_by", "presented_by",
                                          "proposed_by", "reaction_by").get(pk=pk)


# --- texts from guests ------------------------------------------------------------------------------------


def number_opted_out(phone: PhoneNumber | str) -> bool:
    """Did this number's last STOP or START say STOP? The number's own word, whichever group's guest (if any)
    it was, so a profile created after the STOP (another group, a first booking) is silent too."""
    last = (InboundMessage.objects.filter(from_number=str(phone), action__in=[
        InboundMessage.Action.OPTED_OUT, InboundMessage.Action.OPTED_IN])
        .order_by("-received_at", "-id").values_list("action", flat=True).first())
    return last == InboundMessage.Action.OPTED_OUT


def numbers_opted_out(phones: Iterable[str]) -> set[str]:
    """`number_opted_out` for many numbers in one query: those whose last STOP or START said STOP."""
    last: dict[str, str] = {}
    for number, action in (InboundMessage.objects.filter(from_number__in=set(phones), action__in=[
            InboundMessage.Action.OPTED_OUT, InboundMessage.Action.OPTED_IN])
            .order_by("from_number", "-received_at", "-id").values_list("from_number", "action")):
        last.setdefault(number, action)
    return {number for number, action in last.items() if action == InboundMessage.Action.OPTED_OUT}


def guests_with_phone(phone: PhoneNumber | str, *, group_id: int | None = None) -> list[Guest]:
    """The profiles of this phone in one restaurant group (every group's when `group_id` is None: only a STOP
    or START, which speak for the number, reach them all)."""
    guests = Guest.objects.filter(phone=str(phone))
    if group_id is not None:
        guests = guests.filter(group_id=group_id)
    return list(guests.order_by("pk"))


def reply_senders(to: str, service: str = "") -> list[str]:
    """The senders a guest's text to `to` (Twilio's To; `service`, the messaging service it belongs to) replies
    to: a restaurant's own number or service, else the deployment's shared sender (blank on our rows from before
    senders were recorded)."""
    wanted = [s for s in (to, service) if s]
    if wanted and Restaurant.objects.filter(sms_sender__in=wanted).exists():
        return wanted
    return ["", settings.TWILIO_FROM]


def latest_message_to(phone: PhoneNumber | str, *, where: Q | None = None,
                      senders: Iterable[str] | None = None) -> OutboundMessage | None:
    """Our latest text that went out to this number (and matches `where`; from one of `senders`, when given):
    whose restaurant it came from."""
    messages = OutboundMessage.objects.filter(to=str(phone), status=OutboundMessage.Status.SENT)
    if where is not None:
        messages = messages.filter(where)
    if senders is not None:
        messages = messages.filter(sender__in=list(senders))
    return messages.select_related("restaurant", "reservation").order_by("-sent_at", "-id").first()


def _open(questions: dict[str, Q]) -> Q:
    still_open = Q(pk__in=[])
    for kind, open_ in questions.items():
        still_open |= Q(kind=kind) & open_
    return still_open


def latest_question_to(phone: PhoneNumber | str, questions: dict[str, Q], *,
                       senders: Iterable[str] | None = None) -> OutboundMessage | None:
    """The latest question (`{kind: when it is still open}`) that went out to this number (from one of
    `senders`, when given) and is still open."""
    return latest_message_to(phone, where=_open(questions), senders=senders)


def questions_restaurants(phone: PhoneNumber | str, questions: dict[str, Q], *, senders: Iterable[str]) -> set[int]:
    """The restaurants with a question still open to this number from one of `senders`."""
    return set(OutboundMessage.objects.filter(_open(questions), to=str(phone), status=OutboundMessage.Status.SENT,
                                              sender__in=list(senders))
               .order_by().values_list("restaurant_id", flat=True))


def inbound_by_provider_id(provider_id: str) -> InboundMessage | None:
    return InboundMessage.objects.filter(provider_id=provider_id).first()


# --- the front desk -----------------------------------------------------------------------------------------

# A recovery case still owes the guest an answer in these statuses (`recovery.models.RecoveryCase.OPEN_STATUSES`);
# named here by value because reservations never imports recovery (recovery depends on us, not the reverse).
RECOVERY_OPEN_STATUSES = ("open", "offered")
DESSERT_PENDING = (Gesture.Status.QUEUED, Gesture.Status.NEEDS_APPROVAL)


def desk_book(restaurant: Restaurant, start: datetime, end: datetime) -> list[Reservation]:
    """The bookings starting in [start, end), every status, with what the desk's timeline and badges need.

    Lean rows (no restaurant, guest or table objects: a full evening is drawn many times a minute): each
    carries `guest_label` (name, else phone), `guest_visited`, `table_rows` [(table id, name, released)],
    `recovery_open` and `dessert_queued`. Five queries however many bookings the evening holds.
    """
    rows = list(
        Reservation.objects.filter(restaurant=restaurant, start__gte=start, start__lt=end)
        .only("id", "restaurant_id", "guest_id", "party_size", "start", "end", "status", "channel", "overbooked",
              "expectations", "override_bypassed")
        .annotate(
            # As text: a phone read back into a PhoneNumber costs more than the rest of the row.
            guest_label=Coalesce(NullIf(F("guest__name"), Value("")), Cast("guest__phone", CharField())),
            guest_phone_verified=F("guest__phone_verified"),
            # Whether the guest has ever come, not how often: stops at their first completed visit, where a
            # count walked all of them (a regular's hundreds at a busy restaurant: 0.8 s for `big`'s evening).
            guest_visited=Exists(Reservation.objects.filter(guest_id=OuterRef("guest_id"),
                                                            status=Reservation.Status.COMPLETED)),
        )
        .order_by("start", "id")
    )
    return desk_marks(rows)


def desk_marks(rows: list[Reservation]) -> list[Reservation]:
    """Load what the desk's badges and tables need onto these bookings, in four queries for any number."""
    ids = [r.pk for r in rows]
    guest_ids = {r.guest_id for r in rows if r.guest_id}
    tables: dict[int, list[tuple[int, str, bool]]] = defaultdict(list)
    for reservation_id, table_id, name, released in (
        ReservationTable.objects.filter(reservation_id__in=ids).order_by("table_id")
        .values_list("reservation_id", "table_id", "table__name", "released") if ids else ()
    ):
        tables[reservation_id].append((table_id, name, released))
    with_case = set(Reservation.objects.filter(pk__in=ids, recovery_cases__status__in=RECOVERY_OPEN_STATUSES)
                    .values_list("pk", flat=True)) if ids else set()
    guests_with_case = set(Guest.objects.filter(pk__in=guest_ids, recovery_cases__status__in=RECOVERY_OPEN_STATUSES)
                           .values_list("pk", flat=True)) if guest_ids else set()
    dessert = set(Gesture.objects.filter(reservation_id__in=ids, item=Gesture.Item.DESSERT,
                                         status__in=DESSERT_PENDING)
                  .values_list("reservation_id", flat=True)) if ids else set()
    for r in rows:
        r.table_rows = tables.get(r.pk, [])
        r.recovery_open = r.pk in with_case or r.guest_id in guests_with_case
        r.dessert_queued = r.pk in dessert
    return rows


def booking_floor_notes(reservation: Reservation) -> tuple[list[StaffNote], list[Gesture]]:
    """What the floor was told about this booking: its staff notes and its gestures (with the line to say)."""
    return (list(StaffNote.objects.filter(reservation=reservation).order_by("created_at", "id")),
            list(Gesture.objects.filter(reservation=reservation).order_by("created_at", "id")))


def desk_tables(restaurant: Restaurant) -> list[Table]:
    """The active tables, in the floor's order: the timeline's rows."""
    return list(Table.objects.filter(restaurant=restaurant, is_active=True).order_by("id"))


def guest_history(reservations: QuerySet[Reservation], guest: Guest, *, limit: int = 20) -> list[Reservation]:
    """The guest's bookings among `reservations` (already scoped to the caller), latest first."""
    return list(reservations.filter(guest=guest).select_related("restaurant").order_by("-start", "-id")[:limit])

