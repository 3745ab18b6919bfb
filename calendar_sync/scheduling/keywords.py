"""Keyword scheduling: ``@webex`` (a new meeting) or ``@meet`` (the user's personal room) in an event's Location.

The sync engine hands us each applied page of raw Google events through its outbox (``keyword_events_select``
picks the events inside the page's transaction, ``keyword_events_apply`` acts on them after the commit and again
until done; ``process_events`` does both at once for a caller holding events). For each organizer's copy
whose Location holds a keyword we create a meeting on the org's meeting site (``meeting_site``), then PATCH the
event: join details appended to the description in the user's language, a private extended-property marker,
and the keyword kept or replaced by the join URL (``org.keyword_replace``).

Exactly once:
- the ``KeywordMeeting`` row (unique per source + event id) is claimed before the meeting service is called and
  names the meeting before the PATCH; a retried or concurrent call finds it and never creates a second
  meeting, and a create interrupted before the row named its meeting is found again by the meeting's
  integration tag (see "writes" below);
- our own PATCH comes back as a push: the marker names this event id and start/end/keyword are unchanged, so
  nothing happens;
- a copied event carries the marker of another event id: it gets its own meeting and its join block replaces
  the copied one;
- one instance of a series is its own event id: only that instance is patched;
- a time or title change moves or renames the meeting (no new meeting, no second join block); deleting the
  event or removing the keyword releases it (and removing the keyword takes our join block out of the description);
- PATCHes carry ``If-Match``: a concurrent edit gives 412, we re-get the event and decide again (bounded), so a
  user's edit is never overwritten.

Only the organizer's copy is edited; attendees' copies are never patched.
Google reference: https://developers.google.com/workspace/calendar/api/v3/reference/events/patch
"""

import dataclasses
import functools
import hashlib
import json
import logging
import re
from datetime import UTC, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from calendar_sync.encryption.aad import table_of
from calendar_sync.encryption.crypto import aad_for
from calendar_sync.google import errors as gerrors
from calendar_sync.scheduling.meeting_services.base import SiteMeeting
from calendar_sync.scheduling.meeting_services.errors import (
    InvalidRequest,
    KeywordsOff,
    MeetingNotFound,
    MeetingServiceError,
)
from calendar_sync.scheduling.models import KeywordMeeting
from calendar_sync.scheduling.services import keywords_on, meeting_site_for, site_for_kind
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


@functools.lru_cache(maxsize=256)
def _keyword_pattern(keyword):
    return re.compile(r"(?<![\w@])" + re.escape(keyword) + r"(?![\w])")


def keyword_in(location, organization):
    """The org keyword found in ``location`` (``@webex`` first), case-insensitive, as a whole word; or ''."""
    text = (location or "").lower()
    if not text:
        return ""
    for keyword in (organization.keyword_webex, organization.keyword_meet):
        kw = (keyword or "").strip().lower()
        # The substring test is the cheap refusal (most locations hold no keyword); the pattern checks the word.
        if kw and kw in text and _keyword_pattern(kw).search(text):
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
        return _opened(self.organization, km.join_url_enc, join_url_aad(km.source_id, km.google_event_id))

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


# --- the sync engine's durable page effect (``calendar_sync.sync.engine.on_page_outbox``) ------------------------
class KeywordNotFinished(Exception):
    """The event's meeting is not made yet (the service failed, or another worker is making it)."""

    def __init__(self, error_code, retry_after=None):
        super().__init__(error_code or "pending")
        self.error_code = error_code or "meeting_pending"
        self.retry_after = retry_after


def keyword_events_select(*, source, events):
    """The ids of ``events`` keyword scheduling must act on, inside the page's transaction: a keyword in the
    Location; a marker of ours, unless the event is exactly what our own PATCH left (its etag); the deletion of
    an event that has a live meeting. One query at most, and only for a page with deletions or markers."""
    if source.kind != source.Kind.PERSON:
        return []
    organization = source.organization
    selected, check = [], {}
    for event in events or ():
        event_id = event.get("id")
        if not event_id:
            continue
        if event.get("status") == "cancelled" or any(_marker(event)):
            check[event_id] = event
        elif keyword_in(event.get("location"), organization):
            selected.append(event_id)
    if selected and not keywords_on(organization):
        # The org's meeting service is "none": a keyword is plain text (no meeting, no PATCH, no retry). Meetings
        # made before it was turned off are still released when their event goes (the checks below).
        selected = []
    if not check:
        return selected
    known = {km.google_event_id: km for km in KeywordMeeting.objects.filter(
        source=source, google_event_id__in=list(check)).only("google_event_id", "meeting_id", "state",
                                                              "patched_etag")}
    for event_id, event in check.items():
        km = known.get(event_id)
        active = km is not None and km.state == KeywordMeeting.State.ACTIVE
        if event.get("status") == "cancelled":
            if active:
                selected.append(event_id)
            continue
        echo = active and bool(km.patched_etag) and km.patched_etag == event.get("etag") and _marker(event) == (
            km.meeting_id, event_id)
        if not echo:
            selected.append(event_id)
    return selected


def keyword_events_apply(*, source, events, gateway=None, zone=UTC):
    """Act on the selected events (after the page's commit, or re-read from Google for a retry). Returns
    ``{event id: exception}`` for the events not finished: a Google or meeting-service failure, or a meeting
    the service has not made yet (retried at its ``retry_at``). Idempotent, like ``process_events``."""
    if source.kind != source.Kind.PERSON or not events:
        return {}
    ctx = _Context(source, gateway, zone)
    ids = [event["id"] for event in events if event.get("id")]
    existing = {km.google_event_id: km for km in KeywordMeeting.objects.filter(source=source,
                                                                              google_event_id__in=ids)}
    failures = {}
    for event in events:
        event_id = event.get("id")
        if not event_id:
            continue
        try:
            _handle_event(ctx, event, existing.get(event_id))
        except Exception as exc:  # noqa: BLE001 - the outbox retries it with backoff
            if isinstance(exc, gerrors.GoogleError | MeetingServiceError):
                logger.warning("keyword event of source %s: %s", source.pk, getattr(exc, "error_code", ""))
            else:
                logger.exception("keyword event of source %s failed", source.pk)
            failures[event_id] = exc
    now = timezone.now()
    for event_id, retry_at, code in KeywordMeeting.objects.filter(
        Q(meeting_id__isnull=True) | Q(meeting_id=""), source=source,
        google_event_id__in=[i for i in ids if i not in failures], state=KeywordMeeting.State.ACTIVE,
    ).values_list("google_event_id", "retry_at", "error_code"):
        if code == KeywordsOff.code:
            continue  # keyword scheduling was turned off before its meeting was made: nothing left to do
        wait = (retry_at - now).total_seconds() if retry_at else None
        failures[event_id] = KeywordNotFinished(code, None if wait is None else max(1.0, wait))
    return failures


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
        title = event.get("summary") or ""
        if (km.start, km.end) != (start, end) or keyword_meeting_title_changed(km, title):
            keyword_meeting_move(keyword_meeting=km, start=start, end=end, title=title, site=ctx.site)
        return None  # our own change coming back, or an edit that does not concern us

    km = keyword_meeting_provision(
        source=ctx.source, google_event_id=event["id"], keyword=keyword,
        title=event.get("summary") or "", start=start, end=end, site=ctx.site, existing=km,
    )
    if not km.meeting_id:
        return None  # being made by another worker, or the service failed: retried with the pending events
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
    """What the join block shows, from what the service answered when the meeting was made."""
    personal = _keyword_kind(km.keyword, ctx.organization) == "meet"
    join_url = ctx.join_url(km)
    details = {}
    if km.details_enc is not None:
        details = _details(km)
    elif personal:
        return ctx.site.personal_room(host_email=ctx.subject)
    else:  # a row made before details were kept
        host = join_url.split("/")[2] if join_url.count("/") >= 2 else ctx.organization.meeting_site_host
        details = {"sip_uri": f"{km.meeting_id}@{host}"}
    return SiteMeeting(meeting_id=km.meeting_id, join_url=join_url, sip_uri=details.get("sip_uri", ""),
                       number=details.get("number", ""), personal_room=personal)


# --- writes ----------------------------------------------------------------------------------------------------
# A meeting is made in three steps, none holding a transaction across a call to the meeting service:
#   1. claim the row (committed): keyword, times, a short lease (``claimed_until``) so a concurrent worker waits
#      (the next run of the calendar takes over a dead worker's claim at once: ``keyword_claims_release``);
#   2. if an earlier attempt sent a create (``create_sent_at``), look the meeting up by its integration tag;
#      else record ``create_sent_at`` (committed) and create it;
#   3. record the meeting on the row (committed); the caller then patches the event.
# A worker killed between 2 and 3 leaves ``create_sent_at``: its successor finds the meeting by the tag and
# reuses it. Killed between 3 and the PATCH, the row names the meeting: it is reused without a call.
CLAIM_SECONDS = 120
RETRY_TRANSIENT_SECONDS = 60
RETRY_PERMANENT_SECONDS = 15 * 60


def request_key(source, google_event_id):
    """The event's identity on the meeting service (carried by the meeting's integration tag)."""
    return f"{source.organization_id}:{source.pk}:{google_event_id}"


def details_aad(source_id, google_event_id):
    return aad_for(TABLE, "details", f"{source_id}:{google_event_id}")


HOST_LINK_PROVIDERS = ("jitsi", "bigbluebutton")  # the services whose meetings have a link with host rights


def host_links(source, join_urls):
    """The links with host rights of the meetings keywords made in ``source`` (the organizer's calendar) for the
    events of ``join_urls`` ({event id: the join link the event carries now}): {event id: host url}. A meeting
    whose join link the event no longer carries (the organizer pasted another) gives none."""
    rows = KeywordMeeting.objects.filter(
        source_id=source.pk, google_event_id__in=list(join_urls), state=KeywordMeeting.State.ACTIVE,
        join_url_enc__isnull=False, details_enc__isnull=False,
    ).values_list("google_event_id", "join_url_enc", "details_enc")
    links = {}
    for event_id, url_blob, details_blob in rows:
        if _opened(source.organization, url_blob, join_url_aad(source.pk, event_id)) != join_urls.get(event_id):
            continue
        host_url = _opened_details(source.organization, source.pk, event_id, details_blob).get("host_url")
        if host_url:
            links[event_id] = host_url
    return links


def _opened(organization, blob, aad):
    """The plaintext of one of the org's ciphertexts (whatever data key version sealed it)."""
    blob = bytes(blob)
    return org_cipher_for(organization, blob).decrypt(blob, aad=aad)


def _opened_details(organization, source_id, google_event_id, blob):
    return json.loads(_opened(organization, blob, details_aad(source_id, google_event_id)) or "{}")


def _details(km):
    """``km``'s details: number, SIP address, host link (what the join block and the organizer's Join use)."""
    return _opened_details(km.organization, km.source_id, km.google_event_id, km.details_enc)


def _sealed_details(km, details):
    return org_cipher(km.organization).encrypt(json.dumps(details), aad=details_aad(km.source_id, km.google_event_id))


def _after_remote_create(km, meeting):
    """Between "meeting created on the service" and "row updated": a seam where tests inject a crash."""


def _site_of(km, site=None):
    """The backend that made ``km``'s meeting (it may not be the one the org uses now)."""
    kind = km.service or "local"
    if site is not None and site.kind == kind:
        return site
    return site_for_kind(km.organization, kind)


def _title_index(organization, title):
    return org_cipher(organization).blind_index(title or "")


def keyword_meeting_title_changed(km, title):
    return bool(km.title_index) and km.title_index != _title_index(km.organization, title)


def _retry_later(km, exc):
    seconds = RETRY_TRANSIENT_SECONDS if exc.transient else RETRY_PERMANENT_SECONDS
    try:
        if exc.retry_after not in (None, ""):
            seconds = max(1.0, float(exc.retry_after))
    except (TypeError, ValueError):
        pass
    changes = {"error_code": exc.code, "retry_at": timezone.now() + timedelta(seconds=seconds),
               "claimed_until": None, "updated_at": timezone.now()}
    KeywordMeeting.objects.filter(pk=km.pk).update(**changes)
    for name, value in changes.items():
        setattr(km, name, value)
    logger.warning("meeting service %s for keyword meeting %s: %s", km.service or "-", km.pk, exc.code)
    return km


def keyword_claims_release(*, source):
    """Free the claims still standing on ``source``'s keyword meetings. Called by the engine before a run acts on
    the source's leftover outbox entries: that run holds the source's lease, and every provisioning of a source
    happens inside a run of it, so a claim still standing is a dead worker's. Its successor then takes the row
    over at once (and finds the meeting the dead one may have made, by ``create_sent_at``) instead of waiting
    ``CLAIM_SECONDS`` for the claim to run out."""
    freed = KeywordMeeting.objects.filter(source_id=source.pk, claimed_until__gt=timezone.now()).update(
        claimed_until=None)
    if freed:
        logger.info("source %s: %s keyword meeting claim(s) of a worker that is gone taken over", source.pk, freed)
    return freed


def _claim(*, source, google_event_id, keyword, start, end, service, existing):
    """Step 1: the event's row, claimed by this worker (None when another worker holds it)."""
    now = timezone.now()
    values = dict(keyword=keyword, start=start, end=end, service=service, updated_at=now,
                  state=KeywordMeeting.State.ACTIVE, patched_etag="", error_code="", retry_at=None,
                  claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    if existing is not None and existing.state == KeywordMeeting.State.RELEASED:
        values.update(meeting_id=None, create_sent_at=None)  # its meeting is gone: this is a new one
    km = existing
    if km is None:
        try:
            with transaction.atomic():
                return KeywordMeeting.objects.create(
                    organization=source.organization, source=source, google_event_id=google_event_id, **values)
        except IntegrityError:
            km = KeywordMeeting.objects.get(source=source, google_event_id=google_event_id)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    with transaction.atomic():
        if not KeywordMeeting.objects.filter(free, pk=km.pk).update(**values):
            return None
    for name, value in values.items():
        setattr(km, name, value)
    return km


def _record(km, meeting, *, title):
    """Step 3: the meeting on the row (join URL and details encrypted), the row active and unclaimed."""
    organization = km.organization
    cipher = org_cipher(organization)
    details = {"number": meeting.number, "sip_uri": meeting.sip_uri, "host_url": meeting.host_url}
    values = dict(
        meeting_id=meeting.meeting_id, state=KeywordMeeting.State.ACTIVE, site_url=meeting.site_url,
        join_url_enc=cipher.encrypt(meeting.join_url, aad=join_url_aad(km.source_id, km.google_event_id)),
        details_enc=cipher.encrypt(json.dumps(details), aad=details_aad(km.source_id, km.google_event_id)),
        key_version=cipher.key_version, title_index=_title_index(organization, title), patched_etag="",
        claimed_until=None, error_code="", retry_at=None, updated_at=timezone.now(),
    )
    with transaction.atomic():
        KeywordMeeting.objects.filter(pk=km.pk).update(**values)
    for name, value in values.items():
        setattr(km, name, value)
    return km


def _count_calls(km, n):
    if n:
        KeywordMeeting.objects.filter(pk=km.pk).update(service_calls=F("service_calls") + n)
        km.service_calls += n


def keyword_meeting_provision(*, source, google_event_id, keyword, title, start, end, site, existing=None):
    """The KeywordMeeting of one event with its meeting on the org's service, made at most once.

    Returns the row. Its ``meeting_id`` is empty when no meeting is there yet: another worker is making it,
    or the service failed (``error_code``; retried after ``retry_at`` with the pending events). Not atomic
    on purpose: each step commits before the next call to the service (see above).
    """
    organization = source.organization
    kind = _keyword_kind(keyword, organization)
    host = source.subject
    key = request_key(source, google_event_id)
    live = (KeywordMeeting.State.ACTIVE, KeywordMeeting.State.RELEASING)
    if existing is not None and existing.meeting_id and existing.state in live:
        same = (existing.service or "local") == site.kind and _keyword_kind(existing.keyword, organization) == kind
        if same:
            # Killed after the row named the meeting and before the PATCH, or the keyword came back before its
            # meeting was released: that meeting is still this event's.
            return _reuse(existing, keyword=keyword, title=title, start=start, end=end, site=site)
        keyword_meeting_release(keyword_meeting=existing, site=site)
        existing.refresh_from_db()
    if existing is not None and existing.retry_at and existing.retry_at > timezone.now() and not existing.meeting_id:
        return existing  # the service failed a moment ago: wait for the retry time
    km = _claim(source=source, google_event_id=google_event_id, keyword=keyword, start=start, end=end,
                service=site.kind, existing=existing)
    if km is None:
        return existing or KeywordMeeting.objects.get(source=source, google_event_id=google_event_id)
    calls = 0
    try:
        if kind == "meet":
            room = site.personal_room(host_email=host)
            calls += 1
            # A personal room serves many events; the row's id names this booking of it.
            suffix = hashlib.sha256(f"{source.pk}:{google_event_id}".encode()).hexdigest()[:10]
            meeting = dataclasses.replace(room, meeting_id=f"{room.meeting_id}.{suffix}"[:64],
                                          number=room.display_number)
            if not meeting.host_url:  # a token for this booking of the room (Jitsi), when the service mints one
                meeting = dataclasses.replace(meeting, host_url=site.host_url_for(
                    meeting_id=room.display_number, host_email=host, end=end))
        else:
            meeting = None
            durable = not transaction.get_connection().in_atomic_block
            if not site.idempotent_create and (km.create_sent_at or not durable):
                # An earlier attempt may have made it (or, inside a caller's transaction, our own record of
                # sending the create would not survive a crash): look for the event's meeting first.
                meeting = site.meeting_find(host_email=host, request_key=key, start=start, end=end)
                calls += 1
            if meeting is None:
                if not km.create_sent_at:
                    now = timezone.now()
                    with transaction.atomic():
                        KeywordMeeting.objects.filter(pk=km.pk).update(create_sent_at=now)
                    km.create_sent_at = now
                meeting = site.meeting_create(host_email=host, title=title, start=start, end=end, request_key=key)
                calls += 1
                _after_remote_create(km, meeting)
    except MeetingServiceError as exc:
        _count_calls(km, calls)
        return _retry_later(km, exc)
    _count_calls(km, calls)
    try:
        return _record(km, meeting, title=title)
    except IntegrityError:
        # Another row names this meeting id (a service answering with a meeting that is not ours): never
        # share a meeting between events.
        logger.error("meeting service %s returned a meeting id already in use", site.kind)
        return _retry_later(km, InvalidRequest("the service returned a meeting of another event"))


def _reuse(km, *, keyword, title, start, end, site):
    changes = {"keyword": keyword, "state": KeywordMeeting.State.ACTIVE, "patched_etag": "",
               "claimed_until": None, "updated_at": timezone.now()}
    KeywordMeeting.objects.filter(pk=km.pk).update(**changes)
    for name, value in changes.items():
        setattr(km, name, value)
    if (km.start, km.end) != (start, end) or keyword_meeting_title_changed(km, title):
        keyword_meeting_move(keyword_meeting=km, start=start, end=end, title=title, site=site)
    return km


def keyword_meeting_move(*, keyword_meeting, start, end, site, title=None):
    """The event's time or title changed: change its meeting (no new meeting, no second join block).

    A failure leaves the stored times as they were and the row pending, so a later pass moves it again; a
    meeting deleted on the service meanwhile is made anew (and the join block rewritten) by that pass.
    """
    km = keyword_meeting
    now = timezone.now()
    changes = {"start": start, "end": end, "updated_at": now}
    if title is not None:
        changes["title_index"] = _title_index(km.organization, title)
    personal = _keyword_kind(km.keyword, km.organization) == "meet"
    if not personal and km.meeting_id:
        if km.retry_at and km.retry_at > now:
            return km
        try:
            _site_of(km, site).meeting_update(meeting_id=km.meeting_id, start=start, end=end, title=title,
                                              host_email=km.source.subject)
            _count_calls(km, 1)
        except MeetingNotFound:
            _count_calls(km, 1)
            gone = {"meeting_id": None, "create_sent_at": None, "patched_etag": "", "updated_at": now}
            KeywordMeeting.objects.filter(pk=km.pk).update(**gone)
            for name, value in gone.items():
                setattr(km, name, value)
            return km
        except MeetingServiceError as exc:
            _count_calls(km, 1)
            KeywordMeeting.objects.filter(pk=km.pk).update(patched_etag="")
            km.patched_etag = ""
            return _retry_later(km, exc)
    if km.meeting_id and km.details_enc is not None and end != km.end:
        details = _details(km)
        # A host link that expires with the meeting (a Jitsi token) is minted anew for its new end.
        host_url = _site_of(km, site).host_url_for(meeting_id=details.get("number") or km.meeting_id,
                                                    host_email=km.source.subject, end=end)
        if host_url:
            changes["details_enc"] = _sealed_details(km, {**details, "host_url": host_url})
    if km.patched_etag == "" and km.meeting_id:
        changes["patched_etag"] = "-"  # a move that failed earlier is done: nothing pending any more
    changes.update(error_code="", retry_at=None)
    KeywordMeeting.objects.filter(pk=km.pk).update(**changes)
    for name, value in changes.items():
        setattr(km, name, value)
    return km


def keyword_meeting_release(*, keyword_meeting, site=None):
    """The event was deleted or lost its keyword: delete its meeting on the service (a personal room stays).

    A transient failure leaves the row ``releasing`` for ``keyword_meetings_release_pending``.
    """
    km = keyword_meeting
    if km.state == KeywordMeeting.State.RELEASED:
        return km
    personal = _keyword_kind(km.keyword, km.organization) == "meet"
    if km.meeting_id and not personal:
        try:
            _site_of(km, site).meeting_release(meeting_id=km.meeting_id, host_email=km.source.subject)
            _count_calls(km, 1)
        except MeetingServiceError as exc:
            _count_calls(km, 1)
            KeywordMeeting.objects.filter(pk=km.pk).update(state=KeywordMeeting.State.RELEASING)
            km.state = KeywordMeeting.State.RELEASING
            return _retry_later(km, exc)
    changes = {"state": KeywordMeeting.State.RELEASED, "error_code": "", "retry_at": None, "create_sent_at": None,
               "claimed_until": None, "updated_at": timezone.now()}
    KeywordMeeting.objects.filter(pk=km.pk).update(**changes)
    for name, value in changes.items():
        setattr(km, name, value)
    return km


def keyword_meetings_release_pending(limit=200):
    """Retry the releases that failed (a periodic schedule). Returns how many were released."""
    due = KeywordMeeting.objects.filter(state=KeywordMeeting.State.RELEASING).filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=timezone.now())).select_related("organization", "source")
    done = 0
    for km in due.order_by("pk")[:limit]:
        if keyword_meeting_release(keyword_meeting=km).state == KeywordMeeting.State.RELEASED:
            done += 1
    return done
