"""Import people from the Google directory of the tenant (Admin SDK Directory ``users.list``).

Needs the Directory scope in domain-wide delegation and an admin of the Workspace as subject: the admin email
given on the form, else the test account of the organization's last successful Test connection.
https://developers.google.com/workspace/admin/directory/reference/rest/v1/users/list

A directory name is whatever a Google admin (or a user editing their profile) typed, so it gets the checks of
the add form and the CSV (``people.name_problems``): a user whose name they would refuse (a formula, a control
character, over 200 characters) is skipped like a refused CSV row, and the job's result says who and why
(``issues``, codes of ``csv_import.ISSUES``). The admin can add them with a clean name by hand.
"""

from django.db import transaction
from django.utils import timezone

from calendar_sync.google import errors as google_errors
from controlhub.onboarding.models import ConnectionTest
from controlhub.people import jobs
from controlhub.people.models import BulkJob, Person
from controlhub.people.services import email_is_valid, email_normalize, name_problems, verified_domains
from controlhub.tenancy.errors import error_info
from controlhub.tenancy.google_connection import org_gateway
from controlhub.tenancy.orgs import audit_record
from controlhub.tenancy.queue import enqueue_after_commit

MAX_ISSUES = 1000  # kept in the job's result (the job page shows at most as many); "refused" counts them all


def directory_admin_subject(organization):
    """The test account of the org's last successful Test connection, or ``""``."""
    test = (
        ConnectionTest.objects.filter(organization=organization, ok=True).order_by("-created_at").first()
    )
    return test.test_email if test else ""


@transaction.atomic
def directory_import_start(*, organization, admin_email="", actor=None):
    admin_email = email_normalize(admin_email) or directory_admin_subject(organization)
    if not admin_email:
        raise ValueError("no admin subject")
    job = BulkJob.objects.create(
        organization=organization, kind=BulkJob.Kind.DIRECTORY_IMPORT,
        created_by=actor if actor and actor.is_authenticated else None,
        payload={"admin_email": admin_email, "domains": sorted(verified_domains(organization))},
    )
    audit_record(organization=organization, actor=actor, action="people.directory_import", target=job)
    enqueue_after_commit(directory_import_run_task, job.pk)
    return job


def directory_import_run(*, job_id):
    """Page through each verified domain's users; add the ones we do not have (state Off)."""
    job = BulkJob.objects.select_related("organization").get(pk=job_id)
    if job.state in (BulkJob.State.DONE, BulkJob.State.FAILED):
        return
    jobs.bulk_job_started(job=job)
    admin = job.payload["admin_email"]
    created = skipped = refused = 0
    issues = []
    domains = []  # per domain: what it added, or why Google refused it (one refusal does not fail the others)
    try:
        gateway = org_gateway(job.organization)
    except google_errors.GoogleError as exc:
        info = error_info(exc.error_code)
        jobs.bulk_job_failed(job=job, message=f"{info.title}: {info.fix}", result={"error_code": exc.error_code})
        return
    for domain in job.payload.get("domains", []):
        outcome = {"domain": domain, "created": 0, "already_present": 0}
        try:
            token = None
            while True:
                page = gateway.directory_users_page(admin, domain=domain, page_token=token)
                users = page.get("users", [])
                candidates = {}
                for user in users:
                    email = email_normalize(user.get("primaryEmail", ""))
                    if email_is_valid(email):
                        candidates[email] = str((user.get("name") or {}).get("fullName") or "").strip()
                with transaction.atomic():
                    existing = set(
                        Person.objects.filter(organization=job.organization, email__in=list(candidates))
                        .values_list("email", flat=True)
                    )
                    now = timezone.now()
                    new = []
                    for email, name in candidates.items():
                        if email in existing:
                            continue
                        problems = name_problems(name)
                        if problems:
                            refused += 1
                            issues.extend({"email": email, **p} for p in problems)
                            del issues[MAX_ISSUES:]
                            continue
                        new.append(Person(organization=job.organization, email=email, name=name, created_at=now,
                                          state_changed_at=now))
                    Person.objects.bulk_create(new, ignore_conflicts=True)
                    jobs.bulk_job_progress(job=job, done=len(users), total=len(users))
                outcome["created"] += len(new)
                outcome["already_present"] += len(existing)
                token = page.get("nextPageToken")
                if not token:
                    break
        except google_errors.GoogleError as exc:
            outcome["error_code"] = exc.error_code
        created += outcome["created"]
        skipped += outcome["already_present"]
        domains.append(outcome)
    result = {"created": created, "already_present": skipped, "refused": refused, "issues": issues,
              "domains": domains}
    failed = [d for d in domains if d.get("error_code")]
    if domains and len(failed) == len(domains):  # nothing could be read: the job failed, with the first reason
        info = error_info(failed[0]["error_code"])
        jobs.bulk_job_failed(job=job, message=f"{info.title}: {info.fix}",
                             result={**result, "error_code": failed[0]["error_code"]})
        return
    jobs.bulk_job_finished(job=job, result=result)


def directory_import_domains(job):
    """The job's per-domain outcomes for its page: ``[{domain, created, already_present, error}]`` where
    ``error`` is the catalogue entry (title, explanation, fix) of a refused domain, else None."""
    return [{**d, "error": error_info(d["error_code"]) if d.get("error_code") else None}
            for d in (job.result or {}).get("domains", [])]


def directory_import_run_task(job_id):
    """Background entry point (django-q2: positional ids only)."""
    directory_import_run(job_id=job_id)
