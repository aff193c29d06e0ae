import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from reservations.services.load import big_restaurant_reset, chain_sites_reset


class Command(BaseCommand):
    help = ("Create (or reset) `big`, a 200-table restaurant with a full book ahead and a year of completed "
            "history, for the chain-scale benchmarks; with --sites N, a chain of N smaller sites instead.")

    def add_arguments(self, parser):
        parser.add_argument("--sites", type=int, default=0,
                            help="build a chain of this many 36-table sites (site-01…) in one group instead of "
                                 "big; defaults then 7 days ahead, 180 a day, 7 days of history")
        parser.add_argument("--days", type=int, help="days booked ahead, today included (30)")
        parser.add_argument("--per-day", type=int, help="bookings a day (1200)")
        parser.add_argument("--history-days", type=int, help="days of completed history (365)")

    def handle(self, *args, sites: int, days: int | None, per_day: int | None, history_days: int | None,
               **options):
        began = time.perf_counter()
        asked = {k: v for k, v in (("days", days), ("per_day", per_day), ("history_days", history_days))
                 if v is not None}
        if sites < 0:
            raise CommandError("--sites must be 1 or more.")
        if sites:
            try:
                summaries = chain_sites_reset(sites=sites, **asked)
            except ValueError as error:  # more bookings a day than the sites' tables hold
                raise CommandError(str(error)) from error
            self.stdout.write(self.style.SUCCESS(
                f"{len(summaries)} sites ({summaries[0].restaurant.slug}…{summaries[-1].restaurant.slug}) of "
                f"{summaries[0].tables} tables: {sum(s.future_bookings for s in summaries)} bookings ahead, "
                f"{sum(s.history_bookings for s in summaries)} completed, in {time.perf_counter() - began:.1f} s."
            ))
        else:
            summary = big_restaurant_reset(**asked)
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
