"""Keyword scheduling: ``@webex`` (a new meeting) or ``@meet`` (the user's personal room) in an event's Location.

The sync engine calls ``process_events`` for each applied page of raw Google events. For each organizer's copy
whose Location holds a keyword we create a meeting on the org's meeting site (``meeting_site``), then PATCH the
event: join details appended to the description in the user's language, a private extended-property marker,
and the keyword kept or replaced by the join URL (``org.keyword_replace``).

Exactly once:
- the ``KeywordMeeting`` row (unique per source + event id) is written *before* the PATCH; a retried or
  concurrent call finds it and never creates a second meeting;
- our own PATCH comes back as a push: the marker names this event id and start/end/keyword are unchanged, so
  nothing happens;
- a copied event carries the marker of another event id: it gets its own meeting and its join block replaces
  the copied one;
- one instance of a series is its own event id: only that instance is patched;
- a time change moves the meeting (no new meeting, no second join block); deleting the event or removing the
  keyword releases it (and removing the keyword takes our join block out of the description);
- PATCHes carry ``If-Match``: a concurrent edit gives 412, we re-get the event and decide again (bounded), so a
  user's edit is never overwritten.

Only the organizer's copy is edited; attendees' copies are never patched.
Google reference: https://developers.google.com/workspace/calendar/api/v3/reference/events/patch
"""

import hashlib
import logging
import re
from datetime import UTC

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from calendar_sync.encryption.aad import table_of
from calendar_sync.encryption.crypto import aad_for
from calendar_sync.google import errors as gerrors
from calendar_sync.scheduling.meeting_services import SiteMeeting, meeting_site_for
from calendar_sync.scheduling.models import KeywordMeeting
from calendar_sync.sync.event_time import event_time
from controlhub.tenancy.google_connection import org_gateway
from controlhub.tenancy.keys import org_cipher, org_cipher_for

logger = logging.getLogger(__name__)

MARKER_MEETING = "calendarhub_meeting_id"
MARKER_EVENT = "calendarhub_event_id"
MAX_PRECONDITION_RETRIES = 3
JOIN_BLOCK_START = "──────────  Calendar Hub  ──────────"
JOIN_BLOCK_END = "────────────────────────────────────"
_JOIN_BLOCK_RE = re.compile(
    r"(?:\r?\n)*" + re.escape(JOIN_BLOCK_START) + r".*?" + re.escape(JOIN_BLOCK_END) + r"[ \t]*(?:\r?\n)?",
    re.DOTALL,
)
TABLE = table_of(KeywordMeeting)


# --- small pure helpers ----------------------------------------------------------------------------------------
def join_url_aad(source_id, google_event_id):
    return aad_for(TABLE, "join_url", f"{source_id}:{google_event_id}")


def keyword_in(location, organization):
    """The org keyword found in ``location`` (``@webex`` first), case-insensitive, as a whole word; or ''."""
    text = (location or "").lower()
    for keyword in (organization.keyword_webex, organization.keyword_meet):
        kw = (keyword or "").strip().lower()
        if kw and re.search(r"(?<![\w@])" + re.escape(kw) + r"(?![\w])", text):
            return keyword
    return ""


def strip_join_block(description):
    """The description without our join block (and without the blank lines we added before it)."""
    return _JOIN_BLOCK_RE.sub("", description or "").rstrip()


def join_block(*, language, site_meeting, keyword_kind):
    lang = language if language in ("en", "fr", "ko") else "en"
    body = render_to_string(
        f"calendar_sync/join_details_{lang}.txt",
        {"meeting": site_meeting, "personal_room": keyword_kind == "meet"},
    ).strip()
    return f"{JOIN_BLOCK_START}\n{body}\n{JOIN_BLOCK_END}"


def _is_organizer_copy(event, subject):
    organizer = event.get("organizer") or {}
    if organizer.get("self"):
        return True
    return bool(organizer.get("email")) and organizer["email"].strip().lower() == subject.strip().lower()


def _marker(event):
    private = ((event.get("extendedProperties") or {}).get("private")) or {}
    return private.get(MARKER_MEETING, ""), private.get(MARKER_EVENT, "")


def _keyword_kind(keyword, organization):
    return "meet" if keyword.lower() == (organization.keyword_meet or "").lower() else "webex"


# --- the service -----------------------------------------------------------------------------------------------
class _Context:
    """Per-call state: the org, the subject, gateway, cipher and meeting site, built once per page."""

    def __init__(self, source, gateway=None, zone=UTC):
        self.source = source
        self.zone = zone  # the calendar's zone: all-day events start at its midnight
        self.subject = source.subject
        self.organization = source.organization
        self.calendar_id = "primary"
        self._gateway = gateway
        self.site = meeting_site_for(self.organization)
        self.patches = 0

    @property
    def gateway(self):
        if self._gateway is None:
            self._gateway = org_gateway(self.organization)
        return self._gateway

    def join_url(self, km):
        if km.join_url_enc is None:
            return ""
        blob = bytes(km.join_url_enc)
        return org_cipher_for(self.organization, blob).decrypt(
            blob, aad=join_url_aad(km.source_id, km.google_event_id)
        )

    def patch(self, event_id, body, etag):
        result = self.gateway.event_patch(
            self.subject, event_id, body, calendar_id=self.calendar_id, etag=etag
        )
        self.patches += 1
        return result

    def get(self, event_id):
        return self.gateway.event_get(self.subject, event_id, calendar_id=self.calendar_id)


def process_events(*, source, events, gateway=None, zone=UTC):
    """Handle keyword events among ``events`` (raw Google Event dicts) of ``source``. Returns PATCH count.

    Safe to call any number of times with the same or re-fetched events. Google errors on one event are logged
    and leave its ``KeywordMeeting`` pending (``patched_etag`` empty); the next call retries it.
    """
    if source.kind != source.Kind.PERSON:
        return 0  # keywords are a person's way to ask for a meeting; rooms never get one
    organization = source.organization
    candidates = {}
    for event in events or ():
        event_id = event.get("id")
        if not event_id:
            continue
        if (
            event.get("status") == "cancelled"
            or any(_marker(event))
            or keyword_in(event.get("location"), organization)
        ):
            candidates[event_id] = event
    pending_ids = set(
        KeywordMeeting.objects.filter(source=source, state=KeywordMeeting.State.ACTIVE, patched_etag="")
        .exclude(google_event_id__in=list(candidates))
        .values_list("google_event_id", flat=True)[:20]
    )
    if not candidates and not pending_ids:
        return 0
    ctx = _Context(source, gateway, zone)
    existing = {
        km.google_event_id: km
        for km in KeywordMeeting.objects.filter(source=source, google_event_id__in=list(candidates))
    }
    for event_id, event in candidates.items():
        try:
            _handle_event(ctx, event, existing.get(event_id))
        except gerrors.GoogleError as exc:
            logger.warning("keyword event %s of source %s: %s", event_id, source.pk, exc.error_code)
    for event_id in pending_ids:
        try:
            _handle_event(ctx, ctx.get(event_id), KeywordMeeting.objects.filter(
                source=source, google_event_id=event_id).first())
        except gerrors.GoogleError as exc:
            logger.warning("pending keyword event %s: %s", event_id, exc.error_code)
    return ctx.patches


def _handle_event(ctx, event, km):
    """Decide and act for one event; on 412 re-get the event and decide again (bounded)."""
    for _attempt in range(MAX_PRECONDITION_RETRIES + 1):
        try:
            return _decide(ctx, event, km)
        except gerrors.PreconditionFailed:
            event = ctx.get(event["id"])
            km = KeywordMeeting.objects.filter(
                source=ctx.source, google_event_id=event["id"]
            ).first()
        except gerrors.Gone:
            return keyword_meeting_release(keyword_meeting=km) if km else None
    logger.warning("keyword event %s: gave up after %s concurrent edits", event.get("id"), MAX_PRECONDITION_RETRIES)
    return None


def _decide(ctx, event, km):
    org = ctx.organization
    active = km is not None and km.state == KeywordMeeting.State.ACTIVE
    if event.get("status") == "cancelled":
        if active:
            keyword_meeting_release(keyword_meeting=km, site=ctx.site)
        return None
    if not _is_organizer_copy(event, ctx.subject):
        return None  # an attendee's copy: never ours to edit

    location = event.get("location") or ""
    keyword = keyword_in(location, org)
    marker_meeting, marker_event = _marker(event)
    ours = bool(active and marker_meeting == km.meeting_id and marker_event == event["id"])
    if not keyword and ours and org.keyword_replace and ctx.join_url(km) and ctx.join_url(km) in location:
        keyword = km.keyword  # the keyword was replaced by our join URL: it is still there
    start, end = event_time(event.get("start"), ctx.zone)[0], event_time(event.get("end"), ctx.zone)[0]

    if not keyword:
        if active:
            keyword_meeting_release(keyword_meeting=km, site=ctx.site)
            _patch_remove(ctx, event)
        return None

    if ours and km.keyword.lower() == keyword.lower():
        if not km.patched_etag and not _has_join_block(event):
            return _patch_add(ctx, event, km)  # our earlier PATCH never landed
        if (km.start, km.end) != (start, end):
            keyword_meeting_move(keyword_meeting=km, start=start, end=end, site=ctx.site)
        return None  # our own change coming back, or an edit that does not concern us

    km = keyword_meeting_provision(
        source=ctx.source, google_event_id=event["id"], keyword=keyword,
        title=event.get("summary") or "", start=start, end=end, site=ctx.site, existing=km,
    )
    return _patch_add(ctx, event, km)


def _has_join_block(event):
    return JOIN_BLOCK_START in (event.get("description") or "")


def _patch_add(ctx, event, km):
    org = ctx.organization
    site_meeting = _site_meeting_of(ctx, km)
    description = strip_join_block(event.get("description"))
    block = join_block(
        language=ctx.source.language, site_meeting=site_meeting,
        keyword_kind=_keyword_kind(km.keyword, org),
    )
    body = {
        "description": f"{description}\n\n{block}" if description else block,
        "extendedProperties": {"private": {MARKER_MEETING: km.meeting_id, MARKER_EVENT: event["id"]}},
    }
    if org.keyword_replace:
        location = event.get("location") or ""
        replaced = re.sub(re.escape(km.keyword), site_meeting.join_url, location, count=1, flags=re.IGNORECASE)
        body["location"] = replaced if replaced != location else (location or site_meeting.join_url)
    result = ctx.patch(event["id"], body, event.get("etag"))
    KeywordMeeting.objects.filter(pk=km.pk).update(patched_etag=result.get("etag") or "-", updated_at=timezone.now())
    km.patched_etag = result.get("etag") or "-"
    return result


def _patch_remove(ctx, event):
    description = event.get("description") or ""
    body = {"extendedProperties": {"private": {MARKER_MEETING: None, MARKER_EVENT: None}}}
    if _has_join_block(event):
        body["description"] = strip_join_block(description)
    return ctx.patch(event["id"], body, event.get("etag"))


def _site_meeting_of(ctx, km):
    site = ctx.site
    if _keyword_kind(km.keyword, ctx.organization) == "meet":
        return site.personal_room(host_email=ctx.subject)
    join_url = ctx.join_url(km)
    host = join_url.split("/")[2] if join_url.count("/") >= 2 else ctx.organization.meeting_site_host
    return SiteMeeting(meeting_id=km.meeting_id, join_url=join_url, sip_uri=f"{km.meeting_id}@{host}")


# --- writes ----------------------------------------------------------------------------------------------------
@transaction.atomic
def keyword_meeting_provision(*, source, google_event_id, keyword, title, start, end, site, existing=None):
    """Create (or re-activate / re-key) the KeywordMeeting of one event and its meeting on the site."""
    organization = source.organization
    host = source.subject
    kind = _keyword_kind(keyword, organization)
    if kind == "meet":
        room = site.personal_room(host_email=host)
        # A personal room serves many events; the row's id names this booking of it.
        suffix = hashlib.sha256(f"{source.pk}:{google_event_id}".encode()).hexdigest()[:10]
        meeting_id, join_url = f"{room.meeting_id}.{suffix}"[:64], room.join_url
    else:
        created = site.meeting_create(
            host_email=host, title=title, start=start, end=end,
            request_key=f"{source.pk}:{google_event_id}",
        )
        meeting_id, join_url = created.meeting_id, created.join_url
    cipher = org_cipher(organization)
    values = dict(
        keyword=keyword, meeting_id=meeting_id, start=start, end=end, state=KeywordMeeting.State.ACTIVE,
        join_url_enc=cipher.encrypt(join_url, aad=join_url_aad(source.pk, google_event_id)),
        key_version=cipher.key_version, patched_etag="", updated_at=timezone.now(),
    )
    if existing is not None:
        if existing.meeting_id != meeting_id and existing.state == KeywordMeeting.State.ACTIVE:
            site.meeting_release(meeting_id=existing.meeting_id)
        KeywordMeeting.objects.filter(pk=existing.pk).update(**values)
        existing.refresh_from_db()
        return existing
    try:
        with transaction.atomic():
            return KeywordMeeting.objects.create(
                organization=organization, source=source, google_event_id=google_event_id, **values
            )
    except IntegrityError:
        # Another worker made it first: use theirs.
        return KeywordMeeting.objects.get(source=source, google_event_id=google_event_id)


@transaction.atomic
def keyword_meeting_move(*, keyword_meeting, start, end, site):
    site.meeting_update(meeting_id=keyword_meeting.meeting_id, start=start, end=end)
    KeywordMeeting.objects.filter(pk=keyword_meeting.pk).update(start=start, end=end, updated_at=timezone.now())
    keyword_meeting.start, keyword_meeting.end = start, end
    return keyword_meeting


@transaction.atomic
def keyword_meeting_release(*, keyword_meeting, site=None):
    if keyword_meeting.state == KeywordMeeting.State.RELEASED:
        return keyword_meeting
    site = site or meeting_site_for(keyword_meeting.organization)
    site.meeting_release(meeting_id=keyword_meeting.meeting_id)
    KeywordMeeting.objects.filter(pk=keyword_meeting.pk).update(
        state=KeywordMeeting.State.RELEASED, updated_at=timezone.now()
    )
    keyword_meeting.state = KeywordMeeting.State.RELEASED
    return keyword_meeting
