"""Recovery's background work. Tasks are one line of work each: load, call a service, return a count."""

from celery import shared_task

from .services.long_waits import long_waits_open

# --- cases --------------------------------------------------------------------------------------------------

@shared_task
def long_waits_sweep_task() -> int:
    """Open a case for each party waiting too long (one per party however often this runs); returns how many."""
    return len(long_waits_open())
