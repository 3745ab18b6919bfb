"""Rooms of an organization: settings, import from the Google directory, adding by hand, the validation (Pending
→ Active | Error, like a person's activation), the policy, and removal.

A room is not a user and is never impersonated (the tenant boundary refuses every ``resource.calendar.google.com``
address). Its calendar is read and written as the org's scheduling account; the Directory is read, and room
calendars shared, as the admin account (a Workspace admin; the scheduling account when none is set).

Validation, in order (each failure is one code of ``workspaces.errors``, with its plain reason and fix):
1. preconditions: workspaces on, a scheduling account set, the org's Google connection ready;
2. the scheduling and admin accounts are inside the org's own tenant (the boundary);
3. a fresh delegated token for the scheduling account (unknown or deleted account, delegation, scopes);
4. the room in the Directory (``resources.calendars.list`` by ``resourceEmail``): unknown room, admin not an
   admin, Directory scope not delegated, Admin SDK disabled; its building, floor, capacity and features are
   copied;
5. access: the scheduling account reads the room calendar's ACL (writer or better) or the admin account
   inserts a ``writer`` rule for it (``acl.insert``; refused → ``acl_refused``); the rule is remembered and
   deleted when the room is removed;
6. a read of the room calendar as the scheduling account (a suspended account fails here).
Then the room's calendar source starts (the same engine as people: push, incremental, window, encryption).
Transient failures are retried with backoff; permanent ones wait for the admin (Reactivate).
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from calendar_sync.google import errors as google_errors
from calendar_sync.google.gateway import SCOPE_CALENDAR, SCOPE_ROOMS_READONLY
from calendar_sync.sync import sources
from calendar_sync.sync.models import CalendarSource
from calendar_sync.workspaces import booking, config, freebusy
from calendar_sync.workspaces.errors import room_error_info
from calendar_sync.workspaces.models import DEFAULT_BOOKING_LENGTHS, Room, RoomHistory, WorkspaceSettings
from controlhub.tenancy import boundary as tenant_boundary
from controlhub.tenancy.errors import ROOM_NOT_IN_DIRECTORY, describe_google_error, missing_scope_detail
from controlhub.tenancy.google_connection import org_gateway
from controlhub.tenancy.models import Organization
from controlhub.tenancy.orgs import audit_record
from controlhub.tenancy.queue import enqueue_after_commit

logger = logging.getLogger(__name__)

State = Room.State
MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 60
RETRY_CAP_SECONDS = 3600
STALE_PENDING_AFTER = dt.timedelta(minutes=15)
ALLOWED_LENGTHS = (15, 30, 45, 60, 90, 120)
MAX_RELEASE_MINUTES = 60

MSG_ADDED = "Room added"
MSG_IMPORTED = "Imported from the Google directory"
MSG_VALIDATION = "Validation started"
MSG_ACTIVE = "Validated: the room syncs"
MSG_REACTIVATE = "Reactivation requested"
MSG_ACL_GRANTED = "Room calendar shared with the scheduling account (writer)"
MSG_DELETED_IN_GOOGLE = "No longer in the Google directory"
MSG_BACK_IN_GOOGLE = "Back in the Google directory"
MSG_POLICY = "Display policy changed"
MSG_REMOVING = "Removal requested"


class RoomInputError(ValueError):
    """Bad input from the admin, with a message fit for the page."""


def _actor(actor):
    return actor if (actor is not None and getattr(actor, "is_authenticated", False)) else None


def _history(room, message, *, code="", actor=None):
    return RoomHistory.objects.create(room=room, message=message[:300], code=code, actor=_actor(actor))


def email_normalize(value):
    return (value or "").strip().lower()


def is_resource_address(email):
    domain = email_normalize(email).rsplit("@", 1)[-1]
    return domain == tenant_boundary.RESOURCE_CALENDAR_DOMAIN or domain.endswith(
        "." + tenant_boundary.RESOURCE_CALENDAR_DOMAIN)


def retry_delay(attempt):
    return min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1))


# --- settings -------------------------------------------------------------------------------------------------
workspace_settings = config.workspace_settings
workspaces_enabled = config.workspaces_enabled


def _account(value, label):
    email = email_normalize(value)
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError as exc:
        raise RoomInputError(f"{label}: not an email address") from exc
    if is_resource_address(email):
        raise RoomInputError(f"{label}: a room address is not a user; name a user of your Google Workspace")
    return email


@transaction.atomic
def workspaces_configure(*, organization, enabled, scheduling_account, admin_account="", actor=None):
    """Turn workspaces on or off and name the accounts. Turning them on or off changes the scopes to delegate
    (the last Test connection proves nothing any more); a new account revalidates every room."""
    sched = _account(scheduling_account, "Scheduling account")
    admin = _account(admin_account, "Admin account")
    if enabled and not sched:
        raise RoomInputError("Scheduling account: required to turn workspaces on")
    current = WorkspaceSettings.objects.select_for_update().get_or_create(organization=organization)[0]
    changes = {}
    for name, value in (("enabled", bool(enabled)), ("scheduling_account", sched), ("admin_account", admin)):
        if getattr(current, name) != value:
            changes[name] = value
            setattr(current, name, value)
    if not changes:
        return current
    current.updated_at = timezone.now()
    current.save()
    if "enabled" in changes:
        Organization.objects.filter(pk=organization.pk).update(
            setup_state=Organization.SetupState.NOT_SET_UP, setup_checked_at=None)
    audit_record(organization=organization, actor=actor, action="workspaces.settings.updated", target=current,
                 detail=changes)
    if current.enabled and ({"enabled", "scheduling_account", "admin_account"} & set(changes)):
        for room in Room.objects.filter(organization=organization).exclude(state=State.REMOVING):
            _start_validation(room, actor=actor, message=MSG_REACTIVATE)
    return current


# --- adding rooms -------------------------------------------------------------------------------------------
@dataclass
class DirectoryRoom:
    email: str
    name: str
    resource_id: str = ""
    generated_name: str = ""
    building: str = ""
    floor: str = ""
    floor_section: str = ""
    capacity: int | None = None
    features: list = field(default_factory=list)
    category: str = ""
    description: str = ""

    @classmethod
    def from_google(cls, item):
        features = [(f.get("feature") or {}).get("name", "") for f in item.get("featureInstances") or []
                    if isinstance(f, dict)]
        capacity = item.get("capacity")
        return cls(
            email=email_normalize(item.get("resourceEmail")), name=(item.get("resourceName") or "")[:200],
            resource_id=str(item.get("resourceId") or "")[:100],
            generated_name=(item.get("generatedResourceName") or "")[:200],
            building=str(item.get("buildingId") or "")[:200], floor=str(item.get("floorName") or "")[:100],
            floor_section=str(item.get("floorSection") or "")[:100],
            capacity=int(capacity) if isinstance(capacity, int) and capacity >= 0 else None,
            features=[f[:100] for f in features if f][:50], category=str(item.get("resourceCategory") or "")[:40],
            description=(item.get("userVisibleDescription") or "")[:300],
        )

    def apply_to(self, room):
        room.name = self.name or room.name or self.email
        room.resource_id = self.resource_id
        room.building, room.floor, room.floor_section = self.building, self.floor, self.floor_section
        room.capacity, room.features, room.category = self.capacity, self.features, self.category


def directory_rooms_list(*, organization, query=None):
    """Every room of the org's Google directory (all pages), as ``DirectoryRoom``s. Calls Google as the admin
    account; raises our typed Google errors (the page explains them)."""
    config = workspace_settings(organization)
    subject = config.directory_subject
    if not subject:
        raise RoomInputError("Name the scheduling account first.")
    gateway = org_gateway(organization)
    rooms, token = [], None
    for _ in range(200):  # 100 000 rooms at most: a runaway paging loop must end
        page = gateway.resources_calendars_page(subject, page_token=token, query=query)
        for item in page.get("items") or []:
            room = DirectoryRoom.from_google(item)
            if room.email:
                rooms.append(room)
        token = page.get("nextPageToken")
        if not token:
            break
    return rooms


@transaction.atomic
def room_add(*, organization, email, name="", actor=None):
    """Add a room by its resource calendar address; its validation starts at once."""
    email = email_normalize(email)
    try:
        validate_email(email)
    except ValidationError as exc:
        raise RoomInputError("Not an email address.") from exc
    if Room.objects.filter(organization=organization, email=email).exists():
        raise RoomInputError("This room is already added.")
    room = Room.objects.create(organization=organization, email=email, name=(name or "").strip()[:200] or email,
                               origin=Room.Origin.MANUAL)
    _history(room, MSG_ADDED, actor=actor)
    audit_record(organization=organization, actor=actor, action="room.add", target=room)
    _start_validation(room, actor=actor)
    return room


@dataclass
class ImportOutcome:
    added: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    flagged: list = field(default_factory=list)


@transaction.atomic
def rooms_import(*, organization, directory, selected=None, actor=None):
    """Import ``selected`` addresses (all when None) of a ``directory_rooms_list`` result: new rooms are added
    and validated; every room already here is updated from the directory; rooms imported earlier that the
    directory no longer has are flagged (never removed: the admin decides)."""
    now = timezone.now()
    listed = {r.email: r for r in directory}
    wanted = set(listed) if selected is None else {email_normalize(e) for e in selected} & set(listed)
    existing = {r.email: r for r in Room.objects.select_for_update().filter(organization=organization)}
    outcome = ImportOutcome()
    for email, entry in sorted(listed.items()):
        room = existing.get(email)
        if room is None:
            if email not in wanted:
                continue
            room = Room(organization=organization, email=email, origin=Room.Origin.DIRECTORY)
            entry.apply_to(room)
            room.save()
            _history(room, MSG_IMPORTED, actor=actor)
            _start_validation(room, actor=actor)
            outcome.added.append(room)
            continue
        entry.apply_to(room)
        back = room.deleted_in_google_at is not None
        room.deleted_in_google_at = None
        room.display_version += 1
        room.save()
        if back:
            _history(room, MSG_BACK_IN_GOOGLE, actor=actor)
        outcome.updated.append(room)
    for email, room in existing.items():
        if email not in listed and room.origin == Room.Origin.DIRECTORY and room.deleted_in_google_at is None:
            Room.objects.filter(pk=room.pk).update(deleted_in_google_at=now)
            _history(room, MSG_DELETED_IN_GOOGLE, code="room_not_found", actor=actor)
            outcome.flagged.append(room)
    audit_record(organization=organization, actor=actor, action="rooms.import", target=organization, detail={
        "added": len(outcome.added), "updated": len(outcome.updated), "flagged": len(outcome.flagged)})
    return outcome


# --- policy -----------------------------------------------------------------------------------------------------
@transaction.atomic
def room_policy_update(*, room, show_titles, booking_lengths, checkin_required, release_minutes,
                       honour_acceptance, actor=None):
    lengths = sorted({int(n) for n in booking_lengths})
    if not lengths or any(n not in ALLOWED_LENGTHS for n in lengths):
        raise RoomInputError("Booking lengths must be chosen among " + ", ".join(map(str, ALLOWED_LENGTHS)))
    release = int(release_minutes)
    if not 1 <= release <= MAX_RELEASE_MINUTES:
        raise RoomInputError(f"Release after must be between 1 and {MAX_RELEASE_MINUTES} minutes")
    room = Room.objects.select_for_update().get(pk=room.pk)
    before = {"show_titles": room.show_titles, "booking_lengths": room.booking_lengths,
              "checkin_required": room.checkin_required, "release_minutes": room.release_minutes,
              "honour_acceptance": room.honour_acceptance}
    after = {"show_titles": bool(show_titles), "booking_lengths": lengths, "checkin_required": bool(checkin_required),
             "release_minutes": release, "honour_acceptance": bool(honour_acceptance)}
    changed = {k: v for k, v in after.items() if before[k] != v}
    if not changed:
        return room
    for key, value in after.items():
        setattr(room, key, value)
    room.display_version += 1
    room.save()
    _history(room, MSG_POLICY, actor=actor)
    audit_record(organization=room.organization, actor=actor, action="room.policy", target=room, detail=changed)
    return room


def default_lengths():
    return list(DEFAULT_BOOKING_LENGTHS)


# --- validation -------------------------------------------------------------------------------------------------
def _set_state(room, state, **fields):
    room.state = state
    room.state_changed_at = timezone.now()
    for name, value in fields.items():
        setattr(room, name, value)
    room.save(update_fields=["state", "state_changed_at", *fields])


def _start_validation(room, *, actor=None, message=MSG_VALIDATION):
    _set_state(room, State.PENDING, error_code="", error_detail="", attempts=0, next_retry_at=None)
    _history(room, message, actor=actor)
    enqueue_after_commit(room_validate_task, room.pk)
    return room


@transaction.atomic
def room_reactivate(*, room, actor=None):
    room = Room.objects.select_for_update().get(pk=room.pk)
    if room.state == State.REMOVING:
        return room
    audit_record(organization=room.organization, actor=actor, action="room.reactivate", target=room)
    return _start_validation(room, actor=actor, message=MSG_REACTIVATE)


class _Failed(Exception):
    def __init__(self, code, detail="", *, transient=False):
        super().__init__(code)
        self.code = code
        self.detail = detail[:1000]
        self.transient = transient


def _fail(exc, *, who, scope=SCOPE_CALENDAR):
    """Our code for a Google error met while acting as ``who`` ("scheduling" or "admin")."""
    if isinstance(exc, google_errors.UserNotFound | google_errors.UserDeleted):
        return _Failed("scheduling_account_missing" if who == "scheduling" else "admin_account_missing",
                       describe_google_error(exc))
    if isinstance(exc, google_errors.NotACalendarUser):
        return _Failed("scheduling_account_suspended", describe_google_error(exc))
    if isinstance(exc, google_errors.DelegationNotAuthorized | google_errors.ScopeNotAuthorized):
        # The Calendar scope was proven first: a refusal of another scope is that scope missing.
        code = "scope_missing" if scope != SCOPE_CALENDAR else exc.error_code
        return _Failed(code, missing_scope_detail(scope))
    if isinstance(exc, google_errors.NotAuthorized) and who == "admin":
        return _Failed("admin_account_not_admin", describe_google_error(exc))
    return _Failed(exc.error_code, describe_google_error(exc), transient=exc.retryable)


def _token(gateway, subject, scope, *, who):
    try:
        gateway.fetch_token(subject, [scope], fresh=True)
    except google_errors.GoogleError as exc:
        raise _fail(exc, who=who, scope=scope) from exc


def _boundary(organization, subject):
    refusal = tenant_boundary.subject_refusal(organization, subject)
    if refusal is not None:
        raise _Failed(refusal.code, refusal.reason)


def _directory_entry(gateway, admin, room):
    try:
        page = gateway.resources_calendars_page(admin, query=f'resourceEmail="{room.email}"', max_results=10)
    except google_errors.GoogleError as exc:
        raise _fail(exc, who="admin", scope=SCOPE_ROOMS_READONLY) from exc
    for item in page.get("items") or []:
        if email_normalize(item.get("resourceEmail")) == room.email:
            return DirectoryRoom.from_google(item)
    raise _Failed("room_not_found", ROOM_NOT_IN_DIRECTORY % {"email": room.email})


def _ensure_access(gateway, *, room, sched, admin):
    """The scheduling account can write the room calendar (it can read its ACL), or gets a writer rule.
    Returns the id of a rule this call created, or ``""``."""
    try:
        gateway.acl_list(sched, room.email)
        return ""
    except (google_errors.NotFound, google_errors.NotAuthorized):
        pass  # no access, or below writer: share it
    except google_errors.GoogleError as exc:
        raise _fail(exc, who="scheduling") from exc
    try:
        rule = gateway.acl_insert(admin, room.email, scope_type="user", scope_value=sched, role="writer")
    except (google_errors.NotFound, google_errors.NotAuthorized, google_errors.BadRequest) as exc:
        raise _Failed("acl_refused", describe_google_error(exc)) from exc
    except google_errors.GoogleError as exc:
        raise _fail(exc, who="admin") from exc
    return rule.get("id") or f"user:{sched}"


def _revoke_rule(gateway, admin, calendar_id, rule_id):
    try:
        gateway.acl_delete(admin, calendar_id, rule_id)
    except google_errors.NotFound:
        pass  # already gone


def _check(room, config):
    """Run the validation against Google. Returns ``(DirectoryRoom, created rule id)``; raises ``_Failed``."""
    org = room.organization
    if not config.enabled:
        raise _Failed("workspaces_off")
    sched = config.scheduling_account
    if not sched:
        raise _Failed("scheduling_account_unset")
    if org.setup_state != Organization.SetupState.READY:
        raise _Failed("org_not_connected")
    admin = config.directory_subject
    _boundary(org, sched)
    _boundary(org, admin)
    try:
        gateway = org_gateway(org)
    except google_errors.GoogleError as exc:
        raise _Failed(exc.error_code, describe_google_error(exc)) from exc
    _token(gateway, sched, SCOPE_CALENDAR, who="scheduling")
    if admin != sched:
        _token(gateway, admin, SCOPE_CALENDAR, who="admin")
    entry = _directory_entry(gateway, admin, room)
    created = _ensure_access(gateway, room=room, sched=sched, admin=admin)
    try:
        gateway.events_list(sched, room.email, maxResults=1)
    except google_errors.NotFound as exc:
        raise _Failed("room_calendar_unreachable", describe_google_error(exc)) from exc
    except google_errors.GoogleError as exc:
        raise _fail(exc, who="scheduling") from exc
    if room.acl_rule_id and room.acl_granted_to and room.acl_granted_to != sched:
        try:  # the rule we gave an earlier scheduling account
            _revoke_rule(gateway, admin, room.email, room.acl_rule_id)
        except google_errors.GoogleError as exc:
            logger.warning("could not revoke the old ACL rule of room %s: %s", room.pk, exc.error_code)
    return entry, created


def room_validate(*, room_id):
    """The background validation of a Pending room. Idempotent: does nothing unless the room is Pending.
    Google is called outside any transaction; the outcome is written only if the room is still Pending."""
    room = Room.objects.select_related("organization").filter(pk=room_id).first()
    if room is None or room.state != State.PENDING:
        return room.state if room else None
    config = workspace_settings(room.organization)
    try:
        entry, created = _check(room, config)
    except _Failed as failed:
        return _failed(room, failed)
    with transaction.atomic():
        current = Room.objects.select_for_update().filter(pk=room.pk, state=State.PENDING).first()
        if current is None:
            return Room.objects.filter(pk=room.pk).values_list("state", flat=True).first()
        entry.apply_to(current)
        if created:
            current.acl_rule_id, current.acl_granted_to = created, config.scheduling_account
            _history(current, MSG_ACL_GRANTED)
        elif current.acl_granted_to and current.acl_granted_to != config.scheduling_account:
            current.acl_rule_id, current.acl_granted_to = "", ""
        source = sources.source_ensure(organization=current.organization, kind=CalendarSource.Kind.ROOM,
                                       calendar_id=current.email, subject=config.scheduling_account,
                                       name=current.name)
        current.source = source
        current.deleted_in_google_at = None
        current.display_version += 1
        current.save()
        _set_state(current, State.ACTIVE, error_code="", error_detail="", attempts=0, next_retry_at=None)
        _history(current, MSG_ACTIVE)
        enqueue_after_commit(room_source_start_task, source.pk)
        enqueue_after_commit(freebusy.room_freebusy_refresh_task, current.pk)
    return State.ACTIVE


def _failed(room, failed):
    attempts = room.attempts + 1
    transient = failed.transient or room_error_info(failed.code).transient
    with transaction.atomic():
        current = Room.objects.select_for_update().filter(pk=room.pk, state=State.PENDING).first()
        if current is None:
            return Room.objects.filter(pk=room.pk).values_list("state", flat=True).first()
        if transient and attempts < MAX_ATTEMPTS:
            retry_at = timezone.now() + dt.timedelta(seconds=retry_delay(attempts))
            Room.objects.filter(pk=room.pk).update(attempts=attempts, next_retry_at=retry_at,
                                                   error_code=failed.code, error_detail=failed.detail)
            _history(current, f"Validation will be retried at {retry_at:%Y-%m-%d %H:%M:%S} UTC", code=failed.code)
            return State.PENDING
        _set_state(current, State.ERROR, error_code=failed.code, error_detail=failed.detail, attempts=attempts,
                   next_retry_at=None)
        _history(current, f"Error: {failed.code}", code=failed.code)
        if current.source_id:
            sources.sources_disable(source_ids=[current.source_id])
    return State.ERROR


def rooms_retry_due(*, now=None):
    """Enqueue the validations whose retry time has come, and those whose task was lost. Returns how many."""
    now = now or timezone.now()
    pending = Room.objects.filter(state=State.PENDING)
    due = list(pending.filter(next_retry_at__lte=now).values_list("pk", flat=True))
    stale = list(pending.filter(next_retry_at__isnull=True, state_changed_at__lte=now - STALE_PENDING_AFTER)
                 .values_list("pk", flat=True))
    with transaction.atomic():
        Room.objects.filter(pk__in=due, next_retry_at__lte=now).update(next_retry_at=None)
        Room.objects.filter(pk__in=stale).update(state_changed_at=now)
        for pk in due + stale:
            enqueue_after_commit(room_validate_task, pk)
    return len(due) + len(stale)


# --- removal ------------------------------------------------------------------------------------------------
@transaction.atomic
def room_remove(*, room, actor=None):
    """Stop the room at once (no display or worker reads it from now on); in the background its channels are
    stopped, its mirror purged, the ACL rule this service created deleted, then the room is forgotten."""
    room = Room.objects.select_for_update().get(pk=room.pk)
    if room.state == State.REMOVING:
        return room
    _set_state(room, State.REMOVING)
    _history(room, MSG_REMOVING, actor=actor)
    room.displays.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    if room.source_id:
        sources.sources_disable(source_ids=[room.source_id])
    audit_record(organization=room.organization, actor=actor, action="room.remove", target=room,
                 detail={"acl_rule": bool(room.acl_rule_id)})
    enqueue_after_commit(room_remove_task, room.pk)
    return room


def room_remove_run(*, room_id):
    room = Room.objects.select_related("organization").filter(pk=room_id, state=State.REMOVING).first()
    if room is None:
        return False
    if room.source_id:
        sources.source_stop(source_id=room.source_id)
    if room.acl_rule_id:
        config = workspace_settings(room.organization)
        try:
            _revoke_rule(org_gateway(room.organization), config.directory_subject, room.email, room.acl_rule_id)
        except google_errors.GoogleError as exc:
            if exc.retryable:
                raise  # the task is retried by the broker; the room stays "being removed" meanwhile
            logger.warning("ACL rule of room %s not revoked: %s", room.pk, exc.error_code)
    source_id = room.source_id
    room.delete()
    if source_id:
        # A sync that was under way when the room was removed may have marked the source active again on its
        # way out: stop it once more and forget it (its meetings were purged above).
        sources.sources_disable(source_ids=[source_id])
        CalendarSource.objects.filter(pk=source_id).delete()
    return True


# --- background entry points (django-q2: positional ids only, never meeting data) ----------------------------
def room_validate_task(room_id):
    return room_validate(room_id=room_id)


def room_source_start_task(source_id):
    """The first full sync and push channel of a room's calendar source."""
    outcome = sources.source_start(source_id=source_id)
    return None if outcome is None else {"full": outcome.full, "calls": outcome.calls}


def room_remove_task(room_id):
    return room_remove_run(room_id=room_id)


def rooms_periodic():
    """Every minute: release no-shows, retry due validations, refresh free/busy not refreshed for a while."""
    return {"released": booking.rooms_release_due(), "retried": rooms_retry_due(),
            "refreshed": freebusy.rooms_freebusy_refresh_stale()}
