"""Service recovery: every "no" the restaurant says becomes a case someone answers, fast.

A `RecoveryCase` is opened for a refusal with a guest to come back to (a `no_tables` answer with a
phone), a long wait, a booking the restaurant cancelled, or a mistake a host logged. It has a deadline
(`respond_by`, minutes after it opened, by kind) and a timeline of what staff and the system did
(`CaseAction`). A `RecoveryOffer` is one table offered by SMS to one turned-away guest, held for
them until it expires.

The rules live in `recovery.services`; these models hold data and invariants only.
"""

from django.conf import settings
from django.db import models

from reservations.models import Guest, OutboundMessage, Refusal, Reservation, Restaurant, Table, WaitlistEntry


class RecoveryCase(models.Model):
    class Kind(models.TextChoices):
        TURNED_AWAY = "turned_away", "turned away (no tables)"
        LONG_WAIT = "long_wait", "waited too long"
        CANCELLED_BY_RESTAURANT = "cancelled_by_restaurant", "cancelled by the restaurant"
        MISTAKE = "mistake", "a mistake on the floor"

    class Status(models.TextChoices):
        OPEN = "open"
        OFFERED = "offered", "offered a table"
        RESOLVED = "resolved"
        LOST = "lost"

    class Mistake(models.TextChoices):
        WRONG_DISH = "wrong_dish", "wrong dish"
        SPILLED_DRINK = "spilled_drink", "spilled drink"
        FORGOTTEN_REQUEST = "forgotten_request", "forgotten request"
        OTHER = "other"

    # Statuses in which somebody still owes the guest an answer.
    OPEN_STATUSES = (Status.OPEN, Status.OFFERED)

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="recovery_cases")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    guest = models.ForeignKey(Guest, on_delete=models.SET_NULL, null=True, blank=True, related_name="recovery_cases")
    # What the case is about: at most one of these is the cause, the others stay empty.
    refusal = models.OneToOneField(
        Refusal, on_delete=models.CASCADE, null=True, blank=True, related_name="recovery_case"
    )
    reservation = models.ForeignKey(
        Reservation, on_delete=models.CASCADE, null=True, blank=True, related_name="recovery_cases"
    )
    waitlist_entry = models.ForeignKey(
        WaitlistEntry, on_delete=models.CASCADE, null=True, blank=True, related_name="recovery_cases"
    )
    summary = models.CharField(max_length=300, help_text="What happened, in one line, for the manager.")
    # What went wrong, for a `mistake` case (the host's tap), so mistakes can be counted by what they were.
    mistake = models.CharField(max_length=32, choices=Mistake.choices, blank=True)
    opened_at = models.DateTimeField()
    respond_by = models.DateTimeField(help_text="When the guest must have heard from us, by the case's kind.")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    # The booking that won the guest back (a turned-away guest who took an offered table).
    won_back = models.ForeignKey(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="won_back_cases"
    )

    class Meta:
        ordering = ["opened_at", "id"]
        indexes = [
            models.Index(fields=["restaurant", "status", "respond_by"], name="case_open_idx"),
            models.Index(fields=["restaurant", "opened_at"], name="case_opened_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(opened_at__lte=models.F("respond_by")),
                                   name="case_respond_after_open"),
            # One long wait per party and one case per cancelled booking, however often the sweep runs or
            # races itself; mistakes are many per booking (a wrong dish and a spilled drink).
            models.UniqueConstraint(fields=["waitlist_entry", "kind"], name="case_one_per_waiting_party",
                                    condition=models.Q(waitlist_entry__isnull=False, kind="long_wait")),
            models.UniqueConstraint(fields=["reservation", "kind"], name="case_one_per_booking",
                                    condition=models.Q(reservation__isnull=False,
                                                       kind__in=["long_wait", "cancelled_by_restaurant"])),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class CaseAction(models.Model):
    """One step on a case's timeline: what was done for the guest, by whom (empty: the system), when."""

    class Kind(models.TextChoices):
        OPENED = "opened"
        SMS_SENT = "sms_sent", "SMS sent"
        CALLED = "called"
        OFFERED = "offered", "table offered"
        OFFER_EXPIRED = "offer_expired", "offer expired"
        OFFER_TAKEN = "offer_taken", "offer taken"
        OFFER_GONE = "offer_gone", "told the table had gone"
        GESTURE = "gesture", "gesture given"
        REFUND = "refund", "refund recorded"
        APOLOGY = "apology"
        NOTE = "note"
        RESOLVED = "resolved"
        LOST = "lost"

    case = models.ForeignKey(RecoveryCase, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    note = models.TextField(blank=True)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # An `offer_gone` step telling a guest next in line that another guest took this offer's table, and the
    # text that told them (a YES to it finds the offer, so the time it was for, through this row).
    offer = models.ForeignKey("RecoveryOffer", on_delete=models.CASCADE, null=True, blank=True,
                              related_name="gone_steps")
    message = models.OneToOneField(OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="case_step")

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            # Each guest in line hears once that a table went, however often the steps that take it re-run.
            models.UniqueConstraint(fields=["case", "offer"], condition=models.Q(offer__isnull=False),
                                    name="case_told_gone_once_per_offer"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on case #{self.case_id}"


class RecoveryOffer(models.Model):
    """A freed table offered by SMS to one turned-away guest, held for them until `expires_at`.

    While `pending` the tables are taken for availability (a hold, not a booking). The first YES turns it
    `taken` with the booking it made; no answer turns it `expired` and the next guest is offered.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        TAKEN = "taken"
        EXPIRED = "expired"
        WITHDRAWN = "withdrawn", "withdrawn (the table went back to the book)"

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="recovery_offers")
    case = models.ForeignKey(RecoveryCase, on_delete=models.CASCADE, related_name="offers")
    class Opened(models.TextChoices):
        FREED = "freed", "a booking gave it back"
        HOLD_RELEASED = "hold_released", "a held-back table released to the book"

    # The booking whose cancellation, no-show, early leaving or move freed the table (empty: a hold released).
    freed_by = models.ForeignKey(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What opened after the guest was refused: an offer is only ever made for a table that did (`openings`).
    opened = models.CharField(max_length=16, choices=Opened.choices, default=Opened.FREED)
    tables = models.ManyToManyField(Table, related_name="+")
    start = models.DateTimeField(help_text="When the offered table is the guest's.")
    end = models.DateTimeField()
    party_size = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    offered_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    reservation = models.OneToOneField(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="recovery_offer",
        help_text="The booking the guest's YES made.",
    )
    # The text that asked "reply YES": a guest's answer finds its offer through it.
    message = models.OneToOneField(
        OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="recovery_offer",
    )

    class Meta:
        ordering = ["offered_at", "id"]
        indexes = [models.Index(fields=["restaurant", "status", "start"], name="offer_pending_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(start__lt=models.F("end")), name="offer_start_before_end"),
            # A guest waits on one table at a time: their YES must name exactly one offer.
            models.UniqueConstraint(fields=["case"], condition=models.Q(status="pending"),
                                    name="offer_one_pending_per_case"),
        ]

    def __str__(self) -> str:
        return f"offer #{self.pk} to case #{self.case_id} ({self.status})"


class ExpectationOutcome(models.Model):
    """After a visit, one of the guest's expectations scored: missed (fail), met (OK) or exceeded (WOW).

    One outcome per booking and expectation: marking it again corrects it (who and when are the latest).
    """

    class Outcome(models.TextChoices):
        FAIL = "fail", "missed (fail)"
        OK = "ok", "met (OK)"
        WOW = "wow", "exceeded (WOW)"

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="expectation_outcomes")
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="expectation_outcomes")
    expectation = models.CharField(max_length=100, help_text="As the guest's profile or booking names it.")
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    note = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["reservation", "expectation"]
        constraints = [
            models.UniqueConstraint(fields=["reservation", "expectation"], name="outcome_once_per_expectation"),
        ]

    def __str__(self) -> str:
        return f"{self.expectation}: {self.outcome} (#{self.reservation_id})"


class OverbookingCapChange(models.Model):
    """The record of a manager applying the report's suggested overbooking cap: who, when, from what, why."""

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="overbooking_cap_changes")
    previous_cap = models.PositiveSmallIntegerField(null=True, blank=True)
    new_cap = models.PositiveSmallIntegerField()
    service = models.CharField(max_length=50, help_text="The service whose no-show history suggested it.")
    history_from = models.DateField()
    history_to = models.DateField()
    reasoning = models.TextField(help_text="The suggestion in words, as the manager saw it.")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.previous_cap} → {self.new_cap} covers ({self.service})"
