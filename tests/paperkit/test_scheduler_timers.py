"""A finished build does not wait for Snakemake's scheduler timers to run out
(paperkit.workflow.cancel_scheduler_timers)."""

from __future__ import annotations

import threading
import time

from paperkit.workflow import cancel_scheduler_timers


class JobScheduler:
    """Stands in for snakemake.scheduling.job_scheduler.JobScheduler's timer."""

    def _schedule_reevalutation(self, delay: float) -> threading.Timer:
        timer = threading.Timer(delay, lambda: None)
        timer.start()
        return timer


def test_the_schedulers_reevaluation_timers_are_cancelled_and_others_kept():
    scheduler_timer = JobScheduler()._schedule_reevalutation(30)
    other = threading.Timer(30, lambda: None)
    other.start()
    try:
        started = time.monotonic()
        assert cancel_scheduler_timers() == 1
        scheduler_timer.join(timeout=5)
        assert not scheduler_timer.is_alive()
        assert time.monotonic() - started < 5
        assert other.is_alive()
    finally:
        other.cancel()
