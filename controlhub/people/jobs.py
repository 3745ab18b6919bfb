"""The state machine of a bulk job (queued → running → done | failed) and its progress: every transition of a
``BulkJob`` goes through here, never an ``update(state=…)`` elsewhere, so pages that show a job (and what
listens for a job's changes) see one consistent story."""

import django.dispatch
from django.db.models import Count, F
from django.utils import timezone

from controlhub.people.models import BulkJob, Person
from controlhub.tenancy import live

# A finished activate/reactivate/deactivate job keeps the ids it changed (up to this many) in its result, so its page
# says where they ended: Activated, still Pending, in Error, Off.
OUTCOME_MAX_IDS = 100_000
_OUTCOME_CHUNK = 5_000  # ids per query (SQLite's bound-variable limit)

# Sent after each transition or progress step of a job, with ``job_id``: live pages listen.
bulk_job_changed = django.dispatch.Signal()


def _changed(job_id):
    bulk_job_changed.send(sender=BulkJob, job_id=job_id)
    live.publish(f"job:{job_id}")  # the job's page, after the transaction (if any) commits


def bulk_job_started(*, job, total=None, **fields):
    """Queued → running (progress reset). ``total`` when known up front; ``fields`` for kind-specific columns."""
    values = {"state": BulkJob.State.RUNNING, "done": 0, **fields}
    if total is not None:
        values.update(total=total, failed=0)
    BulkJob.objects.filter(pk=job.pk).update(**values)
    _changed(job.pk)


def bulk_job_progress(*, job, done=0, failed=0, total=0):
    """Add to the counters in one statement (concurrent chunks never lose a count)."""
    values = {"done": F("done") + done}
    if failed:
        values["failed"] = F("failed") + failed
    if total:
        values["total"] = F("total") + total
    BulkJob.objects.filter(pk=job.pk).update(**values)
    _changed(job.pk)


def bulk_job_finished(*, job, result, **fields):
    BulkJob.objects.filter(pk=job.pk).update(state=BulkJob.State.DONE, finished_at=timezone.now(), result=result,
                                             **fields)
    _changed(job.pk)


def bulk_job_failed(*, job, message, result=None):
    values = {"state": BulkJob.State.FAILED, "finished_at": timezone.now(), "message": str(message)[:1000]}
    if result is not None:
        values["result"] = result
    BulkJob.objects.filter(pk=job.pk).update(**values)
    _changed(job.pk)


def bulk_job_outcome(*, job):
    """Where the people a finished activate/reactivate/deactivate job changed are now: ``{state: count}`` over
    every calendar state (zeros included), or None when the job kept no ids (another kind, running, too big)."""
    ids = (job.result or {}).get("ids")
    if job.state != BulkJob.State.DONE or ids is None:
        return None
    counts = dict.fromkeys(Person.CalendarState.values, 0)
    for start in range(0, len(ids), _OUTCOME_CHUNK):
        rows = (Person.objects.filter(organization_id=job.organization_id, pk__in=ids[start:start + _OUTCOME_CHUNK])
                .values("calendar_state").annotate(n=Count("pk")).values_list("calendar_state", "n"))
        for state, n in rows:
            counts[state] = counts.get(state, 0) + n
    return counts
