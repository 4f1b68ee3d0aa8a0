"""The periodic repairs: what makes a lost or late event harmless.

Each repair is a function of its own module; `reconcile` (the embedded server's tick
and the `reconcile` PingSource) runs them in this order on one listing of the
backend's runners. The outbox relay, the other periodic repair, is the eventing
package's (`eventing.outbox.relay_outbox`, the `outbox-relay` PingSource).

The order matters: the runners' evidence settles a job before its deadline is judged,
the queue timeout before a redispatch would launch the job again, and a job launched
again is not judged against a listing taken before its launch.
"""

from __future__ import annotations

from datetime import timedelta

from boardrun import metrics
from boardrun.jobs.repairs.deadline import fail_overdue_jobs
from boardrun.jobs.repairs.lost_runner import settle_lost_runners
from boardrun.jobs.repairs.orphan_runners import stop_orphan_runners
from boardrun.jobs.repairs.queue_timeout import fail_undispatched_jobs
from boardrun.jobs.repairs.redispatch import redispatch_lost_submissions
from boardrun.jobs.repairs.sweep import Sweep


def reconcile(*, redispatch_after: timedelta | None = None) -> int:
    """Compare the jobs the database thinks are active with the backend's runners and
    repair both ways. Returns how many jobs or runners were changed; the backend
    failing to list its runners raises TransientBackendError."""
    sweep = Sweep.take()
    changed = settle_lost_runners(sweep)
    changed += fail_overdue_jobs(sweep)
    changed += fail_undispatched_jobs(sweep)
    changed += redispatch_lost_submissions(sweep, after=redispatch_after)
    changed += stop_orphan_runners(sweep)
    metrics.RECONCILE_REPAIRS.inc(changed)
    return changed


def resume_local_queue() -> int:
    """At the embedded server's start: the jobs accepted before a crash that never got a
    runner (they waited for a local slot) are launched again at once, oldest first, ahead
    of new submissions; jobs that had a runner are repaired as by any reconcile (lost_runner)."""
    return reconcile(redispatch_after=timedelta(0))
