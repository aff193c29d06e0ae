"""A guest's own data: everything we hold about them, exported; or erased, leaving only anonymous counts.

`guest_export` and `erase_guest` are the one way to do either, for the API, the admin's action and the
`erase_guest` management command alike. The book does not know the apps built on it: recovery adds its cases
and outcomes through `EXPORT_PARTS` / `ERASE_PARTS` (see `recovery.hooks`).

Erasing keeps the rows (a booking still counts its covers in every report) but leaves nothing of the guest
readable: the profile's name, phone, notes, tags and expectations; their bookings' notes and expectations;
the bodies and numbers of the texts we sent them and they sent us; staff notes and recovery-case summaries
about them; refusals' contacts; remembered API answers that echoed them; and the audit history rows that
recorded any of it. All of it within the guest's restaurant group: another group's texts to or from the same
phone are that group's, untouched (and a STOP said to them still speaks for the number).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..history import history_entries, plain
from ..models import (
    Gesture,
    Guest,
    IdempotencyKey,
    InboundMessage,
    OutboundMessage,
    Refusal,
    Reservation,
    StaffNote,
    WaitlistEntry,
)

ERASED = "[erased]"


@dataclass
class GuestRows:
    """The rows about one guest, within their restaurant group (the same phone in another group is another
    group's guest, behind its wall)."""

    guest: Guest
    phone: str
    reservations: QuerySet[Reservation]
    waitlist: QuerySet[WaitlistEntry]
    refusals: QuerySet[Refusal]
    sent: QuerySet[OutboundMessage]
    received: QuerySet[InboundMessage]
    # Texts from the phone that belong to no restaurant (a number we had not texted yet, a reply that could mean
    # two restaurants): never exported (they may speak of another group's booking), blanked by an erasure.
    unowned: QuerySet[InboundMessage]


def guest_rows(guest: Guest) -> GuestRows:
    phone = str(guest.phone) if guest.phone else ""
    in_group = Q(restaurant__group=guest.group_id)
    by_phone = Q(pk__in=[])  # nothing, for a guest without a phone
    refusals = Refusal.objects.filter(in_group & (Q(guest=guest) | (Q(guest_phone=phone) if phone else by_phone)))
    reservations = Reservation.objects.filter(guest=guest)
    waitlist = WaitlistEntry.objects.filter(guest=guest)
    # Every text within the group too: a text is linked to its own restaurant's group, but rows linked before
    # that rule (to every group's profile of the phone) must not carry another group's texts across the wall.
    sent = OutboundMessage.objects.filter(in_group & (
        Q(guest=guest) | Q(reservation__in=reservations) | Q(waitlist_entry__in=waitlist)
        | (Q(to=phone) if phone else by_phone)))
    received = InboundMessage.objects.filter(in_group & (
        Q(guests=guest) | Q(reservation__in=reservations) | (Q(from_number=phone) if phone else by_phone)
    )).distinct()
    unowned = InboundMessage.objects.filter(Q(restaurant__isnull=True) & (Q(from_number=phone) if phone else by_phone))
    return GuestRows(guest, phone, reservations, waitlist, refusals, sent, received, unowned)


# --- export ---------------------------------------------------------------------------------------------------

# Apps built on the book add their own parts: `part(rows) -> {"name": [...]}`.
EXPORT_PARTS: list[Callable[[GuestRows], dict[str, Any]]] = []


def guest_export(guest: Guest) -> dict[str, Any]:
    """Everything held about the guest, as JSON-ready data."""
    rows = guest_rows(guest)
    reservations = rows.reservations.select_related("restaurant").prefetch_related("assignments__table")
    data: dict[str, Any] = {
        "guest": {
            "id": guest.pk, "name": guest.name, "phone": rows.phone or None, "tags": guest.tags,
            "expectations": guest.expectations, "notes": guest.notes, "sms_opt_out": guest.sms_opt_out,
            "created_at": plain(guest.created_at), "erased_at": plain(guest.erased_at),
        },
        "bookings": [{
            "id": r.pk, "restaurant": r.restaurant.slug, "start": plain(r.start), "end": plain(r.end),
            "party_size": r.party_size, "status": r.status, "channel": r.channel,
            "tables": [a.table.name for a in r.assignments.all()], "expectations": r.expectations,
            "notes": r.notes, "override_reason": r.override_reason, "created_at": plain(r.created_at),
        } for r in reservations.order_by("start", "id")],
        "refusals": [{
            "id": r.pk, "restaurant": r.restaurant.slug, "start": plain(r.start), "party_size": r.party_size,
            "channel": r.channel, "reasons": r.reasons, "guest_name": r.guest_name,
            "guest_phone": str(r.guest_phone or ""), "created_at": plain(r.created_at),
        } for r in rows.refusals.select_related("restaurant").order_by("created_at", "id")],
        "messages": {
            "sent": [{
                "id": m.pk, "kind": m.kind, "to": str(m.to or ""), "body": m.body, "status": m.status,
                "reservation": m.reservation_id, "created_at": plain(m.created_at), "sent_at": plain(m.sent_at),
            } for m in rows.sent.order_by("created_at", "id")],
            "received": [{
                "id": m.pk, "from": m.from_number, "body": m.body, "action": m.action,
                "reservation": m.reservation_id, "received_at": plain(m.received_at),
            } for m in rows.received.order_by("received_at", "id")],
        },
        "notes": [{
            "id": n.pk, "reservation": n.reservation_id, "kind": n.kind, "text": n.text,
            "created_at": plain(n.created_at),
        } for n in StaffNote.objects.filter(reservation__in=rows.reservations).order_by("created_at", "id")],
        "gestures": [{
            "id": g.pk, "reservation": g.reservation_id, "item": g.item, "occasion": g.occasion, "reason": g.reason,
            "status": g.status, "cost": plain(g.cost), "reaction": g.reaction, "reaction_note": g.reaction_note,
            "created_at": plain(g.created_at),
        } for g in _gestures(rows).order_by("created_at", "id")],
        "waitlist": [{
            "id": e.pk, "restaurant": e.restaurant.slug, "party_size": e.party_size, "status": e.status,
            "quoted_wait_minutes": e.quoted_wait_minutes, "created_at": plain(e.created_at),
            "seated_at": plain(e.seated_at), "left_at": plain(e.left_at),
        } for e in rows.waitlist.select_related("restaurant").order_by("created_at", "id")],
        "history": history_entries(Guest.history.filter(id=guest.pk)),
    }
    for part in EXPORT_PARTS:
        data.update(part(rows))
    data["exported_at"] = plain(timezone.now())
    return data


def _gestures(rows: GuestRows) -> QuerySet[Gesture]:
    return Gesture.objects.filter(Q(guest=rows.guest) | Q(reservation__in=rows.reservations))


# --- erasure --------------------------------------------------------------------------------------------------


@dataclass
class Scrubber:
    """Takes a guest's name and phone out of free text (and JSON), however the phone was typed."""

    name: str
    phone: str
    patterns: list[re.Pattern] = field(default_factory=list)

    def __post_init__(self) -> None:
        words = [self.name.strip(), *(w for w in re.split(r"\s+", self.name) if len(w.strip(".,")) >= 3)]
        for word in sorted({w for w in words if w}, key=len, reverse=True):
            self.patterns.append(re.compile(re.escape(word), re.IGNORECASE))
        digits = re.sub(r"\D", "", self.phone)
        if len(digits) >= 7:
            # The last nine digits (the national number, for most countries), with anything between them:
            # "+380 67 123-45-67", "067 123 45 67" and "+380671234567" alike.
            self.patterns.append(re.compile(r"\+?[\d\s().-]{0,6}?" + r"[\s().-]*".join(digits[-9:])))

    def text(self, value: str) -> str:
        for pattern in self.patterns:
            value = pattern.sub(ERASED, value)
        return value

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        return value


# Apps built on the book erase their own rows: `part(rows, scrub) -> {"what": count}`.
ERASE_PARTS: list[Callable[[GuestRows, Scrubber], dict[str, int]]] = []


def _blank(value: str) -> str:
    return ERASED if value else ""


def erase_guest(guest: Guest, *, by=None) -> dict[str, int]:
    """Anonymise the guest everywhere; their bookings stay, nameless, for the counts. Returns what was erased.

    Erasing an erased guest again is harmless (it finds nothing more to erase).
    """
    with transaction.atomic():
        guest = Guest.objects.select_for_update().get(pk=guest.pk)
        rows = guest_rows(guest)
        scrub = Scrubber(guest.name, rows.phone)
        done: dict[str, int] = {}
        # Evaluated before anything loses its phone: the rows found by it, kept by id for the parts below.
        refusals, sent, received = list(rows.refusals), list(rows.sent), list(rows.received)
        unowned = rows.unowned
        if Guest.objects.filter(phone=rows.phone).exclude(group=guest.group_id).exists():
            # Another group still holds the number: a STOP or START it said speaks for that group's guest too.
            unowned = unowned.exclude(action__in=[InboundMessage.Action.OPTED_OUT, InboundMessage.Action.OPTED_IN])
        received += list(unowned)
        rows.refusals = Refusal.objects.filter(pk__in=[r.pk for r in refusals])
        rows.sent = OutboundMessage.objects.filter(pk__in=[m.pk for m in sent])
        rows.received = InboundMessage.objects.filter(pk__in=[m.pk for m in received])
        reservation_ids = list(rows.reservations.values_list("pk", flat=True))
        waitlist_ids = list(rows.waitlist.values_list("pk", flat=True))

        for reservation in rows.reservations:
            reservation.notes, reservation.expectations = "", []
            reservation.override_reason = scrub.text(reservation.override_reason)
            reservation._change_reason = "personal data erased"
            reservation.save(update_fields=["notes", "expectations", "override_reason", "updated_at"])
        done["bookings"] = len(reservation_ids)

        for refusal in refusals:
            refusal.guest_name, refusal.guest_phone = "", ""
            refusal.save(update_fields=["guest_name", "guest_phone"])
        done["refusals"] = len(refusals)

        for message in sent:
            message.body, message.to = _blank(message.body), ""
            message.last_error = scrub.text(message.last_error)
            message.save(update_fields=["body", "to", "last_error"])
        done["messages_sent"] = len(sent)
        for message in received:
            message.body, message.from_number = _blank(message.body), ""
            message.save(update_fields=["body", "from_number"])
        done["messages_received"] = len(received)

        notes = StaffNote.objects.filter(reservation_id__in=reservation_ids)
        done["staff_notes"] = notes.update(text=ERASED)

        gestures = list(Gesture.objects.filter(Q(guest=guest) | Q(reservation_id__in=reservation_ids)))
        for gesture in gestures:
            gesture.reason, gesture.prompt = scrub.text(gesture.reason), scrub.text(gesture.prompt)
            gesture.reaction_note = _blank(gesture.reaction_note)
            gesture.save(update_fields=["reason", "prompt", "reaction_note"])
        done["gestures"] = len(gestures)

        remembered = list(IdempotencyKey.objects.filter(
            Q(reservation_id__in=reservation_ids) | Q(waitlist_entry_id__in=waitlist_ids)))
        for record in remembered:
            record.response_body = scrub.json(record.response_body)
            if scrub.text(record.key) != record.key:  # a client's key may name the guest too ("olena-1")
                record.key = f"erased-{record.pk}"
            record.save(update_fields=["response_body", "key"])
        done["remembered_answers"] = len(remembered)
        done["waitlist"] = len(waitlist_ids)

        for part in ERASE_PARTS:
            done.update(part(rows, scrub))

        guest.name, guest.phone, guest.notes, guest.tags, guest.expectations = "", None, "", [], []
        guest.erased_at = timezone.now()
        guest._change_reason = "personal data erased"
        if by is not None and getattr(by, "is_authenticated", False):
            guest._history_user = by
        guest.save(update_fields=["name", "phone", "notes", "tags", "expectations", "erased_at"])

        # The record of what they were: the audit history keeps who changed what, never who they were.
        done["history_rows"] = (
            Guest.history.filter(id=guest.pk).update(name="", phone=None, notes="", tags=[], expectations=[])
            + _erase_reservation_history(reservation_ids, scrub)
        )
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Guest),
                                object_id=str(guest.pk)).update(object_repr=ERASED, change_message="")
    return done


def _erase_reservation_history(reservation_ids: list[int], scrub: Scrubber) -> int:
    records = list(Reservation.history.filter(id__in=reservation_ids))
    for record in records:
        record.notes, record.expectations = "", []
        record.override_reason = scrub.text(record.override_reason)
        record.history_change_reason = scrub.text(record.history_change_reason or "") or None
        record.save(update_fields=["notes", "expectations", "override_reason", "history_change_reason"])
    return len(records)
