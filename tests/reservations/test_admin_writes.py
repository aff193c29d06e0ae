"""No admin page or action writes a booking's rows around the services.

The walk is generated from the admin site's registry: every URL of the Reservation, Table, ReservationTable and
RecoveryOffer admins (with simple-history's record and revert pages) and every action, posted by a superuser as
the browser would (the page's own form, sent back). A guard on the booked rows — reservations, their tables,
recovery offers — notes every save or delete with no service function on the call stack, and a snapshot of the
rows catches a write that sends no signal (a queryset update). What a manager would notice is checked too: a
cancelled booking stays cancelled, and no table holds two live bookings at once.
"""

from __future__ import annotations

import inspect
import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.db import connection
from django.forms.models import model_to_dict

from recovery.models import RecoveryOffer
from reservations.models import Reservation, ReservationTable, Table
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails

from ..conftest import kyiv

pytestmark = pytest.mark.django_db

GUARDED = (Reservation, ReservationTable, RecoveryOffer)
WALKED = (Reservation, ReservationTable, Table, RecoveryOffer)
SERVICES = ("reservations.services.", "recovery.services.")


class Guard:
    """Every SQL write (INSERT, UPDATE, DELETE) to a guarded table, and whether a service function was on the
    stack when it ran: a save, a delete, a cascade and a queryset update alike."""

    def __init__(self) -> None:
        self.around: list[str] = []
        self.through: set[str] = set()
        self.url = ""
        self.tables = {model._meta.db_table: model.__name__ for model in GUARDED}

    def __call__(self, execute, sql, params, many, context):
        words = sql.lstrip().split(None, 3)
        if words and words[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            target = (words[2] if words[0].upper() != "UPDATE" else words[1]).strip('"')
            if target in self.tables:
                modules = [frame.frame.f_globals.get("__name__", "") for frame in inspect.stack(0)]
                if any(m.startswith(SERVICES) for m in modules):
                    self.through.add(self.tables[target])
                else:
                    self.around.append(f"{self.url}: {words[0].upper()} {self.tables[target]} without a service")
        return execute(sql, params, many, context)


def _rows() -> dict[tuple[str, object], dict]:
    return {(model.__name__, row.pk): model_to_dict(row) for model in GUARDED for row in model.objects.all()}


def _double_booked() -> list[str]:
    """Tables holding two live bookings at overlapping times, as the day's board would show them."""
    # Released or not: a live booking's tables are shown on the board as its own.
    live = ReservationTable.objects.filter(reservation__status__in=Reservation.ACTIVE_STATUSES)
    seen: dict[int, list] = {}
    found = []
    for assignment in live.select_related("table"):
        for other in seen.get(assignment.table_id, []):
            if assignment.start < other.end and other.start < assignment.end:
                found.append(f"{assignment.table.name} holds #{other.reservation_id} and #{assignment.reservation_id}")
        seen.setdefault(assignment.table_id, []).append(assignment)
    return found


class FormFields(HTMLParser):
    """The fields of a page's post forms, as a browser would send them back unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._in_form = self._textarea = self._select = None
        self._option: tuple[str, bool] | None = None

    def _add(self, name, value) -> None:
        if name:
            self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "form":
            self._in_form = (a.get("method") or "").lower() == "post"
        elif not self._in_form:
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button", "file", "image"):
                self._add(a.get("name"), a.get("value") or ("on" if kind == "checkbox" else ""))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""
        elif tag == "select":
            self._select, self._chosen = a.get("name"), None
        elif tag == "option" and self._select:
            if "selected" in a or self._chosen is None:
                self._chosen = (a.get("value", ""), "selected" in a) if not (self._chosen and self._chosen[1]) \
                    else self._chosen

    def handle_data(self, data) -> None:
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea" and self._textarea:
            self._add(self._textarea, self._text.lstrip("\n"))
            self._textarea = None
        elif tag == "select" and self._select:
            if self._chosen is not None:
                self._add(self._select, self._chosen[0])
            self._select = None


def _scraped(page) -> dict[str, list[str]]:
    parser = FormFields()
    parser.feed(page.content.decode())
    return parser.data


def _urls(model, ids: dict) -> list[str]:
    """Every URL the model's admin serves, its parameters filled with real rows."""
    model_admin = admin.site._registry[model]
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    urls = []
    for pattern in model_admin.get_urls():
        route = str(pattern.pattern)
        for pk, version in ids[model]:
            if route.startswith("^"):  # a regular expression (simple-history's revert page): object, version
                values = iter([pk, version])
                urls.append(base + re.sub(r"\([^)]*\)", lambda m, values=values: str(next(values)), route.strip("^$")))
            else:
                named = {"object_id": pk, "version_id": version}
                urls.append(base + re.sub(r"<(?:\w+:)?(\w+)>",
                                          lambda m, named=named: str(named.get(m.group(1), m.group(0))), route))
    # The revert pages first, the delete pages last: each is posted while its row is still there to revert.
    return sorted(set(urls), key=lambda url: ("/delete/" in url, "/history/" not in url, url))


@pytest.fixture
def a_table_booked_twice_over_time(samna, staff, tuesday):
    """A booking cancelled, and its table given to another party at the same time."""
    guest = GuestDetails(name="Olena K.", phone="+380671234567")
    first = reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2, channel="phone",
                               guest=guest, by=staff["manager"])
    reservation_transition(reservation=first, action="cancel", by=staff["manager"])
    second = reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2, channel="phone",
                                guest=GuestDetails(name="Taras", phone="+380501112233"), by=staff["manager"])
    tables = {r.pk: sorted(a.table.name for a in r.assignments.all()) for r in (first, second)}
    assert tables[first.pk] == tables[second.pk], "the second party has the cancelled party's table"
    return first, second


def test_no_admin_page_or_action_writes_a_booking_around_the_services(client, staff,
                                                                      a_table_booked_twice_over_time):
    cancelled, taking_its_table = a_table_booked_twice_over_time
    assert staff["admin"].is_superuser
    client.force_login(staff["admin"])
    booked_version = cancelled.history.order_by("history_date", "history_id").first()
    assert booked_version.status == Reservation.Status.BOOKED
    ids = {
        Reservation: [(cancelled.pk, booked_version.history_id), (taking_its_table.pk, "0")],
        ReservationTable: [(a.pk, "0") for a in ReservationTable.objects.all()],
        Table: [(a.table_id, "0") for a in cancelled.assignments.all()],
        RecoveryOffer: [(o.pk, "0") for o in RecoveryOffer.objects.all()] or [(1, "0")],
    }
    guard = Guard()
    before, visited, noticed = _rows(), [], []
    with connection.execute_wrapper(guard):
        for model in WALKED:
            model_admin = admin.site._registry[model]
            for url in _urls(model, ids):
                guard.url = f"POST {url}"
                page = client.get(url, follow=True)
                data = _scraped(page) if page.status_code == 200 else {}
                if url.endswith(f"/{model._meta.model_name}/"):  # the list: every action on every row
                    request = page.wsgi_request
                    for action in model_admin.get_actions(request):
                        guard.url = f"POST {url} action={action}"
                        client.post(url, {"action": action, "_selected_action": [
                            pk for pk, _ in ids[model]], "post": "yes", "index": 0})
                        visited.append(guard.url)
                        noticed.extend(f"{guard.url}: {t}" for t in _double_booked())
                else:
                    client.post(url, data)
                    visited.append(guard.url)
                    noticed.extend(f"{guard.url}: {t}" for t in _double_booked())
    after = _rows()
    changed = {key[0] for key in before.keys() | after.keys() if before.get(key) != after.get(key)}

    assert any("/history/" in url for url in visited) and any("action=cancel_reservations" in u for u in visited)
    # What a manager would see, after any step: no table holding two live bookings at once.
    assert noticed == []
    # And how: every write of a booked row went through a service.
    assert guard.around == [], "\n".join(guard.around)
    assert changed <= guard.through, "rows changed with no write a guard saw go through a service"
