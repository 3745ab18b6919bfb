"""The state machine of a bulk job (queued → running → done | failed) and its progress: every transition of a
``BulkJob`` goes through here, never an ``update(state=…)`` elsewhere, so pages that show a job (and what
listens for a job's changes) see one consistent story."""

import django.dispatch
from django.db.models import F
from django.utils import timezone

from controlhub.people.models import BulkJob
from controlhub.tenancy import live

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
