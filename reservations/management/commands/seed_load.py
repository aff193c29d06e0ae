import time

from django.core.management.base import BaseCommand
from django.db import connection

from reservations.services.load import big_restaurant_reset


class Command(BaseCommand):
    help = ("Create (or reset) `big`, a 200-table restaurant with a full book ahead and a year of completed "
            "history, for the chain-scale benchmarks.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="days booked ahead, today included (30)")
        parser.add_argument("--per-day", type=int, default=1200, help="bookings a day (1200)")
        parser.add_argument("--history-days", type=int, default=365, help="days of completed history (365)")

    def handle(self, *args, days: int, per_day: int, history_days: int, **options):
        began = time.perf_counter()
        summary = big_restaurant_reset(days=days, per_day=per_day, history_days=history_days)
        self.stdout.write(self.style.SUCCESS(
            f"{summary.restaurant.name!r} (slug {summary.restaurant.slug!r}): {summary.tables} tables, "
            f"{summary.combinations} combinations, {summary.future_bookings} bookings ahead, "
            f"{summary.history_bookings} completed, in {time.perf_counter() - began:.1f} s."
        ))
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # A rebuild leaves the old `big`'s rows dead in the tables and their indexes until autovacuum comes
            # by: meanwhile the planner, probing an index's real end for a range on `start`, walks them, and
            # every day's read cost 30-40 ms of planning for 0.2 ms of execution. Clean up, and give the
            # planner its statistics (a bulk load has none), before anything is measured.
            began = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE) reservations_reservation, reservations_reservationtable, "
                               "reservations_guest")
            self.stdout.write(f"Vacuumed and analysed in {time.perf_counter() - began:.1f} s.")
