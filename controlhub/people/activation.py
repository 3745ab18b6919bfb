"""Calendar activation of people: Off → Pending activation → Activated | Error.

Every transition is a function here and writes a ``PersonHistory`` entry (who, when, why); nothing else assigns
``Person.calendar_state``. Rules (seed "Activating users for Calendar access"):

- a person can be activated only inside the organization's own Google tenant (``tenant_boundary``: a verified
  domain or a secondary domain of the same tenant; with the org's own key, also a person who verified their
  email by signing in), and when the organization's Google connection is ready;
- activation starts a background validation (``person_validate``) that proves we can act as the user: a
  delegated token for the core scopes, the user's calendar settings (locale, time zone) and a read of the
  primary calendar (``events.list maxResults=1``);
- transient failures are retried with backoff (``next_retry_at``), then become an error after
  ``MAX_ATTEMPTS``; permanent failures wait for the admin (Reactivate);
- only activated people's calendars are ever accessed: the sync engine is started on success
  (``controlhub.people.calendar.person_calendar_start``) and stopped, its data purged, on deactivation.

Google calls per validation: 1 token request (both scopes at once) + ``settings.list`` (one call returns both
``locale`` and ``timezone``, instead of two ``settings.get``) + ``events.list``; the two Calendar calls reuse
the same token. https://developers.google.com/workspace/calendar/api/v3/reference/settings/list
"""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from calendar_sync.google import errors as google_errors
from calendar_sync.google.backoff import Backoff
from calendar_sync.google.gateway import CORE_SCOPES
from controlhub.onboarding import tenant
from controlhub.people import calendar as person_calendar
from controlhub.people import jobs
from controlhub.people.models import BulkJob, Person, PersonHistory
from controlhub.tenancy import boundary as tenant_boundary
from controlhub.tenancy import live
from controlhub.tenancy.boundary import TenantBoundary
from controlhub.tenancy.errors import describe_google_error, error_info
from controlhub.tenancy.google_connection import org_gateway
from controlhub.tenancy.models import Domain, Organization
from controlhub.tenancy.orgs import audit_record
from controlhub.tenancy.queue import enqueue_after_commit, enqueue_each_after_commit

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 60
RETRY_CAP_SECONDS = 3600
# A pending person whose validation task vanished (broker restart) is picked up again after this long.
STALE_PENDING_AFTER = dt.timedelta(minutes=15)
BULK_CHUNK = 500


State = Person.CalendarState

# History messages are stored as written (the code column carries the machine-readable part).
MSG_ENABLED = "Service enabled"
MSG_VALIDATION = "Validation started"
MSG_ACTIVATED = "Activated"
MSG_REACTIVATE = "Reactivation requested"
MSG_DISABLED = "Service disabled"


def _actor(actor):
    return actor if (actor is not None and getattr(actor, "is_authenticated", False)) else None


def _history(person, message, *, code="", actor=None, at=None):
    # Every change of a person writes history: the pages showing the person, and the org's counts, hear of it.
    live.publish(f"person:{person.pk}", f"org:{person.organization_id}:people")
    return PersonHistory.objects.create(
        person=person, message=message[:300], code=code, actor=_actor(actor), at=at or timezone.now()
    )


# Between background validations: 1 min, 2, 4, 8 ... capped at 1 h; no jitter (the history shows the exact time).
VALIDATION_BACKOFF = Backoff(base=RETRY_BASE_SECONDS, cap=RETRY_CAP_SECONDS, jitter=False)


def retry_delay(attempt):
    """Seconds before retry number ``attempt`` (1, 2, …): 1 min, 2, 4, 8, … capped at 1 h."""
    return VALIDATION_BACKOFF.delay(attempt)


# --- preconditions ------------------------------------------------------------------------------------------
class _OrgFacts:
    """What the preconditions need about an organization, read once per request or bulk job."""

    def __init__(self, organization):
        self.organization = organization
        self.ready = organization.setup_state == Organization.SetupState.READY
        self.boundary = TenantBoundary(organization)
        self.known = {name.lower() for name in Domain.objects.filter(organization=organization).values_list(
            "name", flat=True)}

    def blocker(self, email, email_verified_at):
        """The error code that prevents activation, or ``""`` (the tenant boundary decides who is ours)."""
        if not self.ready:
            return "org_not_connected"
        refusal = self.boundary.refusal(email, email_verified=email_verified_at is not None)
        if refusal is None:
            return ""
        if refusal.code == tenant_boundary.OTHER_ORG:
            return refusal.code
        if self.boundary.own_key:
            return "domain_not_verified" if email.rsplit("@", 1)[-1].lower() in self.known else "email_not_verified"
        if self.organization.directory_import_enabled:
            return ""  # the validation asks the Directory whether the domain is one of the tenant's
        return refusal.code


def activation_blocker(person):
    """Why ``person`` cannot be activated now (an error code), or ``""`` if they can."""
    return _OrgFacts(person.organization).blocker(person.email, person.email_verified_at)


def _set_state(person, state, **fields):
    now = timezone.now()
    person.calendar_state = state
    person.state_changed_at = now
    for name, value in fields.items():
        setattr(person, name, value)
    person.save(update_fields=["calendar_state", "state_changed_at", *fields])


def _start(person, *, actor, facts):
    """Shared tail of activate/reactivate: check preconditions, then Pending + validation, or Error."""
    blocker = facts.blocker(person.email, person.email_verified_at)
    if blocker:
        _set_state(person, State.ERROR, error_code=blocker, error_detail="", activation_attempts=0,
                   next_retry_at=None)
        _history(person, f"Error: {blocker}", code=blocker, actor=actor)
        return person
    _set_state(person, State.PENDING, error_code="", error_detail="", activation_attempts=0, next_retry_at=None)
    _history(person, MSG_VALIDATION, actor=actor)
    enqueue_after_commit(person_validate_task, person.pk)
    return person


@transaction.atomic
def person_activate(*, person, actor=None):
    """Off (or Error) → Pending activation, and a background validation; or Error if a precondition fails."""
    person = Person.objects.select_related("organization").get(pk=person.pk)
    if person.calendar_state in (State.PENDING, State.ACTIVATED):
        return person
    _history(person, MSG_ENABLED, actor=actor)
    audit_record(organization=person.organization, actor=actor, action="person.activate", target=person)
    return _start(person, actor=actor, facts=_OrgFacts(person.organization))


@transaction.atomic
def person_reactivate(*, person, actor=None):
    """Try again after an error (or after the admin fixed something): a fresh validation with attempts reset."""
    person = Person.objects.select_related("organization").get(pk=person.pk)
    if person.calendar_state == State.OFF:
        return person_activate(person=person, actor=actor)
    _history(person, MSG_REACTIVATE, actor=actor)
    audit_record(organization=person.organization, actor=actor, action="person.reactivate", target=person)
    return _start(person, actor=actor, facts=_OrgFacts(person.organization))


@transaction.atomic
def person_deactivate(*, person, actor=None):
    """Any state → Off. Channels are stopped and synced data purged by the sync engine; history is kept."""
    person = Person.objects.select_related("organization").get(pk=person.pk)
    if person.calendar_state == State.OFF:
        return person
    was_activated = person.calendar_state == State.ACTIVATED
    _set_state(person, State.OFF, error_code="", error_detail="", activation_attempts=0, next_retry_at=None)
    _history(person, MSG_DISABLED, actor=actor)
    audit_record(organization=person.organization, actor=actor, action="person.deactivate", target=person)
    # Stop even if not (yet) activated: a validation racing with this call may have started a source.
    person_calendar.person_calendars_disable(person_ids=[person.pk])
    enqueue_after_commit(person_calendar.person_calendar_stop_task, person.pk)
    logger.info("person %s deactivated (was activated: %s)", person.pk, was_activated)
    return person


# --- the background check -----------------------------------------------------------------------------------
def _probe_scopes(gateway, email):
    """Google says ``unauthorized_client`` for a set of scopes when *any* is missing: ask for each alone."""
    missing = []
    for scope in CORE_SCOPES:
        try:
            gateway.fetch_token(email, [scope])
        except (google_errors.DelegationNotAuthorized, google_errors.ScopeNotAuthorized):
            missing.append(scope)
    return missing


def _google_check(person):
    """Talk to Google as the person. Returns ``(settings_dict, None)`` or ``(None, GoogleError)``."""
    try:
        gateway = org_gateway(person.organization)
    except google_errors.GoogleError as exc:
        return None, exc
    email = person.email
    scopes = list(CORE_SCOPES)
    if tenant_boundary.subject_refusal(person.organization, email) is not None:
        tenant.tenant_domain_learn(organization=person.organization, subject=email, gateway=gateway)
        gateway = org_gateway(person.organization)  # a fresh boundary sees what was learned
    try:
        try:
            # Always mint a fresh token: a cached one would hide a delegation revoked or a user deleted since.
            gateway.fetch_token(email, scopes, fresh=True)
        except (google_errors.DelegationNotAuthorized, google_errors.ScopeNotAuthorized) as exc:
            missing = _probe_scopes(gateway, email)
            if len(missing) == 1:
                err = google_errors.ScopeNotAuthorized(
                    f"Scope not authorized for this client: {missing[0]}", scope=missing[0], payload=exc.payload
                )
                raise err from exc
            raise
        settings_values = gateway.calendar_settings(email, scopes)
        gateway.events_list(email, "primary", scopes=scopes, maxResults=1)
    except google_errors.GoogleError as exc:
        return None, exc
    return settings_values, None




def person_validate(*, person_id):
    """The background check of a Pending person. Idempotent: does nothing unless the person is Pending.

    Google is called outside any transaction; the outcome is written only if the person is still Pending (an
    admin may have deactivated them meanwhile). Returns the resulting state.
    """
    person = Person.objects.select_related("organization").filter(pk=person_id).first()
    if person is None or person.calendar_state != State.PENDING:
        return person.calendar_state if person else None
    blocker = activation_blocker(person)
    now = timezone.now()
    if blocker:
        return _finish(person, State.ERROR, code=blocker, detail="")
    settings_values, exc = _google_check(person)
    if exc is None:
        return _finish(
            person, State.ACTIVATED, google_locale=(settings_values.get("locale") or "")[:20],
            google_time_zone=(settings_values.get("timezone") or "")[:64],
        )
    code = exc.error_code
    info = error_info(code)
    detail = describe_google_error(exc)
    attempts = person.activation_attempts + 1
    if info.transient and attempts < MAX_ATTEMPTS:
        retry_at = now + dt.timedelta(seconds=retry_delay(attempts))
        with transaction.atomic():
            updated = Person.objects.filter(pk=person.pk, calendar_state=State.PENDING).update(
                activation_attempts=attempts, next_retry_at=retry_at, error_code=code, error_detail=detail
            )
            if updated:
                _history(person, f"Activation will be retried at {retry_at:%Y-%m-%d %H:%M:%S} UTC", code=code)
        return State.PENDING
    return _finish(person, State.ERROR, code=code, detail=detail, attempts=attempts)


def _finish(person, state, *, code="", detail="", attempts=0, **fields):
    with transaction.atomic():
        updated = Person.objects.filter(pk=person.pk, calendar_state=State.PENDING).update(
            calendar_state=state, state_changed_at=timezone.now(), error_code=code, error_detail=detail,
            activation_attempts=attempts, next_retry_at=None, **fields,
        )
        if not updated:
            return Person.objects.filter(pk=person.pk).values_list("calendar_state", flat=True).first()
        if state == State.ACTIVATED:
            _history(person, MSG_ACTIVATED)
            enqueue_after_commit(person_calendar.person_calendar_start_task, person.pk)
        else:
            _history(person, f"Error: {code}", code=code)
    return state


def activation_retry_due(*, now=None):
    """Enqueue the validations whose retry time has come, and those whose task was lost. Returns how many."""
    now = now or timezone.now()
    pending = Person.objects.filter(calendar_state=State.PENDING)
    due = list(pending.filter(next_retry_at__lte=now).values_list("pk", flat=True))
    stale = list(
        pending.filter(next_retry_at__isnull=True, state_changed_at__lte=now - STALE_PENDING_AFTER).values_list(
            "pk", flat=True
        )
    )
    ids = due + stale
    if not ids:
        return 0
    with transaction.atomic():
        # Clearing next_retry_at claims the row: a second scheduler run will not enqueue it again.
        Person.objects.filter(pk__in=due, next_retry_at__lte=now).update(next_retry_at=None)
        Person.objects.filter(pk__in=stale).update(state_changed_at=now)
        enqueue_each_after_commit(person_validate_task, ids)
    return len(ids)


# --- bulk -----------------------------------------------------------------------------------------------------
BULK_KINDS = {
    BulkJob.Kind.ACTIVATE: (State.OFF, State.ERROR),
    BulkJob.Kind.REACTIVATE: (State.ERROR,),
    BulkJob.Kind.DEACTIVATE: (State.PENDING, State.ACTIVATED, State.ERROR),
}
SELECTIONS = ("ids", "error", "all")


def _bulk_queryset(organization, selection, ids):
    qs = Person.objects.filter(organization=organization)
    if selection == "ids":
        return qs.filter(pk__in=[int(i) for i in ids or []])
    if selection == "error":
        return qs.filter(calendar_state=State.ERROR)
    return qs


@transaction.atomic
def bulk_job_start(*, organization, kind, selection, ids=None, actor=None):
    """Create a BulkJob and enqueue it. Cheap whatever the size: the job resolves the selection itself."""
    if kind not in BULK_KINDS:
        raise ValueError(f"unknown bulk kind {kind!r}")
    if selection not in SELECTIONS:
        raise ValueError(f"unknown selection {selection!r}")
    payload = {"selection": selection}
    if selection == "ids":
        payload["ids"] = sorted({int(i) for i in ids or []})
    job = BulkJob.objects.create(organization=organization, kind=kind, created_by=_actor(actor), payload=payload)
    audit_record(organization=organization, actor=actor, action=f"people.bulk_{kind}", target=job,
                 detail={"selection": selection, "count": len(payload.get("ids", []))})
    enqueue_after_commit(bulk_job_run_task, job.pk)
    return job


def bulk_job_run(*, job_id):
    """Run an activate/deactivate/reactivate job in chunks: set-based state updates, bulk history, then one
    validation task per person that is now Pending."""
    job = BulkJob.objects.select_related("organization", "created_by").get(pk=job_id)
    if job.state in (BulkJob.State.DONE, BulkJob.State.FAILED):
        return job
    org = job.organization
    target_states = BULK_KINDS[job.kind]
    ids = list(
        _bulk_queryset(org, job.payload.get("selection"), job.payload.get("ids"))
        .filter(calendar_state__in=target_states)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    jobs.bulk_job_started(job=job, total=len(ids))
    facts = _OrgFacts(org)
    actor = job.created_by
    outcome = {"pending": 0, "error": 0, "off": 0, "skipped": 0}
    try:
        for start in range(0, len(ids), BULK_CHUNK):
            chunk = ids[start:start + BULK_CHUNK]
            counts = _bulk_chunk(job, org, chunk, target_states, facts, actor)
            for key, n in counts.items():
                outcome[key] += n
            jobs.bulk_job_progress(job=job, done=len(chunk), failed=counts["error"])
    except Exception as exc:
        jobs.bulk_job_failed(job=job, message=exc, result=outcome)
        raise
    if len(ids) <= jobs.OUTCOME_MAX_IDS:
        outcome["ids"] = ids  # who the job changed: its page counts where they are now (jobs.bulk_job_outcome)
    jobs.bulk_job_finished(job=job, result=outcome)
    job.refresh_from_db()
    return job


@transaction.atomic
def _bulk_chunk(job, org, chunk, target_states, facts, actor):
    now = timezone.now()
    rows = list(
        Person.objects.filter(organization=org, pk__in=chunk, calendar_state__in=target_states).values_list(
            "pk", "email", "email_verified_at"
        )
    )
    counts = {"pending": 0, "error": 0, "off": 0, "skipped": len(chunk) - len(rows)}
    history = []
    actor = _actor(actor)
    if job.kind == BulkJob.Kind.DEACTIVATE:
        pks = [pk for pk, _email, _verified in rows]
        Person.objects.filter(pk__in=pks, calendar_state__in=target_states).update(
            calendar_state=State.OFF, state_changed_at=now, error_code="", error_detail="", activation_attempts=0,
            next_retry_at=None,
        )
        history = [PersonHistory(person_id=pk, at=now, actor=actor, message=MSG_DISABLED) for pk in pks]
        PersonHistory.objects.bulk_create(history)
        person_calendar.person_calendars_disable(person_ids=pks)
        enqueue_each_after_commit(person_calendar.person_calendar_stop_task, pks)
        counts["off"] = len(pks)
        _announce_chunk(org, pks)
        return counts

    first = MSG_ENABLED if job.kind == BulkJob.Kind.ACTIVATE else MSG_REACTIVATE
    eligible, blocked = [], {}
    for pk, email, verified_at in rows:
        code = facts.blocker(email, verified_at)
        if code:
            blocked.setdefault(code, []).append(pk)
        else:
            eligible.append(pk)
    if eligible:
        Person.objects.filter(pk__in=eligible).update(
            calendar_state=State.PENDING, state_changed_at=now, error_code="", error_detail="",
            activation_attempts=0, next_retry_at=None,
        )
    for code, pks in blocked.items():
        Person.objects.filter(pk__in=pks).update(
            calendar_state=State.ERROR, state_changed_at=now, error_code=code, error_detail="",
            activation_attempts=0, next_retry_at=None,
        )
    later = now + dt.timedelta(microseconds=1)  # keeps the two entries of one person in order
    for pk, _email, _verified in rows:
        history.append(PersonHistory(person_id=pk, at=now, actor=actor, message=first))
    for pk in eligible:
        history.append(PersonHistory(person_id=pk, at=later, actor=actor, message=MSG_VALIDATION))
    for code, pks in blocked.items():
        history.extend(PersonHistory(person_id=pk, at=later, actor=actor, message=f"Error: {code}", code=code)
                       for pk in pks)
    PersonHistory.objects.bulk_create(history, batch_size=1000)
    enqueue_each_after_commit(person_validate_task, eligible)
    counts["pending"] = len(eligible)
    counts["error"] = sum(len(p) for p in blocked.values())
    _announce_chunk(org, [pk for pk, _email, _verified in rows])
    return counts


def _announce_chunk(org, pks):
    live.publish(f"org:{org.pk}:people", *(f"person:{pk}" for pk in pks))


# --- background entry points (django-q2: positional ids only) ------------------------------------------------
def person_validate_task(person_id):
    return person_validate(person_id=person_id)


def bulk_job_run_task(job_id):
    bulk_job_run(job_id=job_id)
