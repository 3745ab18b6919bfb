"""Seed the demo: an emulated Google Workspace tenant with calendars, and the matching Calendar Hub org.

A tenant of 25 people across English, French and Korean and several time zones (one suspended in Google, one
deleted there, one the org lists that Google never had), Ana's believable week (a series with a moved and a
cancelled instance, all-day events, Zoom/Meet/Teams/Webex/Jitsi links, @webex and @meet), a meeting or two on
everyone else's calendar, vacation responders, rooms.

Idempotent for the database; the emulator's world is rebuilt on every run, together with the org's mirror of it.
"""

import json
import re
import urllib.parse
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand

from controlhub.people.calendar import person_calendar_source
from demo import rooms
from google_emulator.client import EmulatorControl

DOMAIN = "demo.example.com"
ADMIN_EMAIL = f"admin@{DOMAIN}"
ADMIN_PASSWORD = "demo-admin-pass"
USER_EMAIL = f"ana@{DOMAIN}"
USER_PASSWORD = "demo-user-pass"
SCOPES = [
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/gmail.settings.basic",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    rooms.SCOPE_ROOMS,
]
PEOPLE = [
    # email, given, family, locale, time zone, extra
    ("admin", "Avery", "Admin", "en", "Europe/London", {"is_admin": True}),
    ("ana", "Ana", "Martin", "fr", "Europe/Paris", {}),
    ("bo", "Bo-ra", "Kim", "ko", "Asia/Seoul", {}),
    ("carl", "Carl", "Jones", "en", "America/New_York", {}),
    ("dee", "Dee", "Suspended", "en", "UTC", {"suspended": True}),
    ("chloe", "Chloé", "Dubois", "fr", "Europe/Paris", {}),
    ("minji", "Min-ji", "Park", "ko", "Asia/Seoul", {}),
    ("liam", "Liam", "O'Brien", "en", "Europe/Dublin", {}),
    ("sofia", "Sofia", "Rossi", "en", "Europe/Rome", {}),
    ("hugo", "Hugo", "Lefèvre", "fr", "America/Montreal", {}),
    ("jiho", "Ji-ho", "Lee", "ko", "Asia/Seoul", {}),
    ("priya", "Priya", "Shah", "en", "Asia/Kolkata", {}),
    ("lucas", "Lucas", "Bernard", "fr", "Europe/Paris", {}),
    ("emma", "Emma", "Wilson", "en", "Australia/Sydney", {}),
    ("seoyeon", "Seo-yeon", "Choi", "ko", "Asia/Seoul", {}),
    ("noah", "Noah", "Taylor", "en", "America/Los_Angeles", {}),
    ("ines", "Inès", "Moreau", "fr", "Africa/Casablanca", {}),
    ("daniel", "Daniel", "Kang", "ko", "America/Los_Angeles", {}),
    ("maya", "Maya", "Cohen", "en", "Asia/Jerusalem", {}),
    ("julien", "Julien", "Petit", "fr", "Europe/Brussels", {}),
    ("hana", "Ha-na", "Yoon", "ko", "Asia/Tokyo", {}),
    ("oliver", "Oliver", "Brown", "en", "Europe/London", {}),
    ("theo", "Théo", "Garnier", "fr", "Europe/Paris", {}),
    ("eli", "Eli", "Departed", "en", "UTC", {"deleted": True}),  # left the company: deleted in Google
]
VERIFICATION_TOKEN = "demo-verification-token"
WEBEX_SITE = "demo.webex.com"


Emulator = EmulatorControl  # the one control client


def _at(day, hour, minute=0, tz="Europe/Paris"):
    local = datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute, tzinfo=ZoneInfo(tz))
    return {"dateTime": local.isoformat(), "timeZone": tz}


NAMES = {f"{local}@{DOMAIN}": f"{given} {family}" for local, given, family, *_ in PEOPLE}


def _named(attendees):
    """Google fills attendees' display names from the directory; the emulator takes them as given."""
    return [{**a, "displayName": NAMES.get(a["email"], "")} if a["email"] in NAMES else a for a in attendees]


def demo_events(now):
    """A believable week for Ana (Europe/Paris), relative to now."""
    tz = ZoneInfo("Europe/Paris")
    today = now.astimezone(tz).date()
    soon = now.astimezone(tz).replace(second=0, microsecond=0) + timedelta(minutes=3)
    events = [
        {"summary": "Design review", "location": "https://demo.webex.com/meet/ana.martin",
         "description": "Walk through the new onboarding flow.",
         "start": {"dateTime": soon.isoformat(), "timeZone": "Europe/Paris"},
         "end": {"dateTime": (soon + timedelta(minutes=30)).isoformat(), "timeZone": "Europe/Paris"},
         "attendees": [{"email": USER_EMAIL, "responseStatus": "accepted"},
                       {"email": f"bo@{DOMAIN}", "responseStatus": "accepted"},
                       {"email": f"carl@{DOMAIN}", "responseStatus": "tentative"}]},
        {"summary": "Daily stand-up", "location": "https://meet.google.com/abc-defg-hij",
         "start": _at(today - timedelta(days=3), 9, 30), "end": _at(today - timedelta(days=3), 9, 45),
         "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=30"],
         "attendees": [{"email": USER_EMAIL}, {"email": f"bo@{DOMAIN}"}, {"email": f"carl@{DOMAIN}"}]},
        {"summary": "Customer call — Northwind",
         "description": "Join Zoom Meeting\nhttps://us02web.zoom.us/j/81234567890?pwd=QWxhZGRpbjpvcGVu\n\nPasscode: 424242",
         "start": _at(today + timedelta(days=1), 15), "end": _at(today + timedelta(days=1), 16),
         "attendees": [{"email": USER_EMAIL}, {"email": "buyer@northwind.example"}]},
        {"summary": "Sprint planning", "location": "@webex",
         "start": _at(today + timedelta(days=2), 10), "end": _at(today + timedelta(days=2), 11, 30),
         "attendees": [{"email": USER_EMAIL}, {"email": f"carl@{DOMAIN}"}]},
        {"summary": "Teams sync with partner",
         "description": "Microsoft Teams meeting\nJoin: https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjQ3%40thread.v2/0?context=%7b%22Tid%22%3a%221%22%7d",
         "start": _at(today + timedelta(days=3), 14), "end": _at(today + timedelta(days=3), 14, 45)},
        {"summary": "Company offsite", "start": {"date": (today + timedelta(days=6)).isoformat()},
         "end": {"date": (today + timedelta(days=8)).isoformat()}},
        {"summary": "1:1 with Bo-ra", "location": "sip:ana.martin@demo.webex.com",
         "start": _at(today - timedelta(days=1), 11), "end": _at(today - timedelta(days=1), 11, 30)},
        {"summary": "Product sync", "location": "@meet",
         "start": _at(today + timedelta(days=1), 10), "end": _at(today + timedelta(days=1), 10, 30),
         "attendees": [{"email": USER_EMAIL}, {"email": f"chloe@{DOMAIN}"}, {"email": f"lucas@{DOMAIN}"}]},
        {"summary": "Public holiday", "start": {"date": (today + timedelta(days=10)).isoformat()},
         "end": {"date": (today + timedelta(days=11)).isoformat()}, "transparency": "transparent"},
        {"summary": "Open-source community call",
         "description": "Pasted from the invitation:\nhttps://meet.jit.si/CalendarHubCommunityCall",
         "start": _at(today + timedelta(days=4), 17), "end": _at(today + timedelta(days=4), 18)},
    ]
    for event in events:
        if "attendees" in event:
            event["attendees"] = _named(event["attendees"])
    return events


def _next_weekdays(day, n):
    out = []
    while len(out) < n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            out.append(day)
    return out


def series_exceptions(emu, series_id, now):
    """The stand-up series as real series are: the next one moved to 11:00, the one after cancelled."""
    tz = ZoneInfo("Europe/Paris")
    moved, cancelled = _next_weekdays(now.astimezone(tz).date(), 2)
    for day in (moved, cancelled):
        original = datetime.combine(day, datetime.min.time()).replace(hour=9, minute=30, tzinfo=tz)
        instance = f"{series_id}_{original.astimezone(ZoneInfo('UTC')).strftime('%Y%m%dT%H%M%SZ')}"
        if day == moved:
            emu.patch_event(USER_EMAIL, instance, {"start": _at(day, 11), "end": _at(day, 11, 15),
                                                   "summary": "Daily stand-up (moved)"})
        else:
            emu.delete_event(USER_EMAIL, instance)


def team_events(now):
    """A meeting or two on everyone else's calendar, each in their own zone and meeting service."""
    links = [{"location": "https://demo.webex.com/meet/ana.martin"},
             {"location": "https://meet.google.com/kxy-pqrs-tuv"},
             {"description": "Join Zoom Meeting\nhttps://us02web.zoom.us/j/85550001111"},
             {"description": "Microsoft Teams meeting\nJoin: https://teams.microsoft.com/l/meetup-join/19%3ameeting_X"},
             {"description": "https://meet.jit.si/DemoTeamRoom"},
             {"location": "@webex"}]
    titles = ["Team sync", "Réunion d'équipe", "주간 회의", "Customer demo", "Point projet", "기획 회의"]
    out = []
    people = [p for p in PEOPLE if p[0] not in ("ana", "dee") and not p[5].get("deleted")]
    for i, (local, _given, _family, _locale, tz, _extra) in enumerate(people):
        zone = ZoneInfo(tz)
        day = now.astimezone(zone).date() + timedelta(days=i % 3)
        start = datetime.combine(day, datetime.min.time()).replace(hour=9 + i % 8, tzinfo=zone)
        out.append((f"{local}@{DOMAIN}", {
            "summary": titles[i % len(titles)], **links[i % len(links)],
            "start": {"dateTime": start.isoformat(), "timeZone": tz},
            "end": {"dateTime": (start + timedelta(minutes=45)).isoformat(), "timeZone": tz},
            "attendees": _named([{"email": f"{local}@{DOMAIN}", "responseStatus": "accepted"},
                                 {"email": USER_EMAIL if i % 3 == 0 else f"{people[i - 1][0]}@{DOMAIN}"}])}))
    return out


class Command(BaseCommand):
    help = "Seed the emulated Google tenant and the demo organization (used by `make run`)."

    def add_arguments(self, parser):
        parser.add_argument("--emulator", default=settings.GOOGLE_API_ENDPOINT or "http://127.0.0.1:8765")
        parser.add_argument("--webex", default="", help="The Webex emulator's URL (the demo org's meeting service).")
        parser.add_argument("--bbb", default="", help="The BigBlueButton emulator's API URL (pre-filled, not chosen).")
        parser.add_argument("--bbb-secret", default="", help="The BigBlueButton emulator's shared secret.")

    def handle(self, *args, emulator, **options):
        emu = Emulator(emulator)
        self.seed_google(emu)
        org = self.seed_org()
        self.seed_webex(options.get("webex") or "", org)
        self.seed_bbb(options.get("bbb") or "", options.get("bbb_secret") or "", org)
        self.after_seed(emu, org)

    # --- Webex side: the demo org's meeting service -----------------------------------------------------------
    def seed_webex(self, base, org):
        """An emulated Webex site demo.webex.com whose hosts are the demo people, a service app authorized for it,
        and the org's Meeting service pointing at it: an @webex event gets a real (emulated) Webex meeting."""
        from calendar_sync.scheduling.services import meeting_service_save

        if not base:
            self.stdout.write("No Webex emulator given: keyword scheduling stays off in the demo.")
            return
        webex = EmulatorControl(base.rstrip("/"))
        webex.call("POST", "/_emulator/reset")
        webex.call("POST", "/_emulator/sites", {"siteUrl": WEBEX_SITE, "name": "Demo Company"})
        for local, given, family, *_ in PEOPLE:
            webex.call("POST", "/_emulator/users", {
                "email": f"{local}@{DOMAIN}", "displayName": f"{given} {family}", "siteUrl": WEBEX_SITE,
                "personalRoomId": f"{local}.{re.sub(r'[^a-z0-9]', '', family.lower())}"})
        app = webex.call("POST", "/_emulator/service-apps", {
            "name": "Calendar Hub", "siteUrls": [WEBEX_SITE],
            "scopes": ["meeting:admin_schedule_write", "meeting:admin_schedule_read",
                       "meeting:admin_preferences_read"]})
        meeting_service_save(organization=org, values={
            "kind": "webex", "webex_site_url": WEBEX_SITE, "webex_client_id": app["client_id"],
            "webex_client_secret": app["client_secret"], "webex_refresh_token": app["refresh_token"]})
        self.stdout.write(f"Emulated Webex site {WEBEX_SITE} at {base}: the demo org's meeting service")

    def seed_bbb(self, api_url, secret, org):
        """The emulated BigBlueButton server filled in on the Meeting service page (URL and secret stored), the
        org staying on its current service: choosing BigBlueButton there and saving switches to it."""
        from calendar_sync.scheduling.models import MeetingService
        from calendar_sync.scheduling.services import meeting_service_save

        if not (api_url and secret):
            return
        service = MeetingService.objects.filter(organization=org).first()
        kind = service.kind if service else MeetingService.Kind.NONE
        meeting_service_save(organization=org, values={"kind": kind, "bbb_api_url": api_url, "bbb_secret": secret,
                                                       "bbb_algorithm": "sha256"})
        self.stdout.write(f"Emulated BigBlueButton at {api_url}: filled in on the Meeting service page "
                          f"(the org stays on {kind})")

    # --- Google side ----------------------------------------------------------------------------------------
    def seed_google(self, emu):
        from datetime import UTC

        emu.call("POST", "/_emulator/reset")
        emu.call("POST", "/_emulator/tenants", {"domain": DOMAIN, "name": "Demo Company"})
        for local, given, family, locale, tz, extra in PEOPLE:
            fields = {k: v for k, v in extra.items() if k != "deleted"}
            emu.call("POST", "/_emulator/users", {
                "email": f"{local}@{DOMAIN}", "given_name": given, "family_name": family,
                "locale": locale, "time_zone": tz, "is_admin": False, "suspended": False, **fields})
        key = emu.call("POST", "/_emulator/service-accounts", {"project_id": "calendar-hub-demo"})
        key_path = settings.GOOGLE_SERVICE_ACCOUNT_FILE or str(settings.BASE_DIR / "var/demo/service-account.json")
        import os

        os.makedirs(os.path.dirname(key_path), exist_ok=True)
        with open(key_path, "w") as fh:
            json.dump(key, fh, indent=2)
        os.chmod(key_path, 0o600)
        emu.call("PUT", f"/_emulator/tenants/{DOMAIN}/delegation/{key['client_id']}", {"scopes": SCOPES})
        emu.call("PUT", f"/_emulator/dns/{DOMAIN}/txt",
                 {"values": [f"calendarhub-verification={VERIFICATION_TOKEN}", "v=spf1 -all"]})
        now = datetime.now(UTC)
        created = [emu.call("POST", f"/_emulator/users/{urllib.parse.quote(USER_EMAIL)}/events",
                            {**event, "organizer": {"email": USER_EMAIL}}) for event in demo_events(now)]
        stand_up = next(e for e in created if e.get("summary") == "Daily stand-up")
        series_exceptions(emu, stand_up["id"], now)
        for email, event in team_events(now):
            emu.create_event(email, {**event, "organizer": {"email": email}})
        emu.vacation(f"chloe@{DOMAIN}", {
            "enableAutoReply": True, "responseSubject": "Absente", "responseBodyPlainText": "De retour lundi.",
            "startTime": str(int((now - timedelta(days=2)).timestamp() * 1000)),
            "endTime": str(int((now + timedelta(days=2)).timestamp() * 1000))})
        for local, *_rest, extra in PEOPLE:
            if extra.get("deleted"):  # a person the org still lists whose account is gone (an explained error)
                emu.delete_user(f"{local}@{DOMAIN}")
        start = int((now - timedelta(days=1)).timestamp() * 1000)
        end = int((now + timedelta(days=4)).timestamp() * 1000)
        emu.call("PUT", f"/_emulator/users/{urllib.parse.quote(f'bo@{DOMAIN}')}/vacation", {
            "enableAutoReply": True, "responseSubject": "휴가 중", "responseBodyPlainText": "다음 주에 돌아옵니다.",
            "startTime": str(start), "endTime": str(end)})
        rooms.seed_rooms_google(emu, domain=DOMAIN, now=now)
        self.stdout.write(f"Emulated Google Workspace tenant {DOMAIN}: {len(PEOPLE)} users, client ID "
                          f"{key['client_id']}, key in {key_path}")

    # --- Calendar Hub side ----------------------------------------------------------------------------------
    def seed_org(self):
        from django.contrib.auth import get_user_model

        from controlhub.people.models import Person
        from controlhub.tenancy.models import Domain, Membership, Organization
        from controlhub.tenancy.orgs import membership_set, organization_create

        org = Organization.objects.filter(slug="demo").first()
        if org is None:
            org, _, _ = organization_create(name="Demo Company", admin_email=ADMIN_EMAIL,
                                            admin_password=ADMIN_PASSWORD, slug="demo")
        else:
            admin = get_user_model().objects.get(username=ADMIN_EMAIL)
            admin.set_password(ADMIN_PASSWORD)
            admin.save()
            # The emulated Google starts empty on every run: forget what was mirrored from the previous one
            # (sync tokens, channels, meetings) so activation below starts clean, as a new tenant would.
            from calendar_sync.scheduling.models import KeywordMeeting
            from calendar_sync.sync.models import CalendarSource

            KeywordMeeting.objects.filter(organization=org).delete()
            CalendarSource.objects.filter(organization=org).delete()
            Person.objects.filter(organization=org).update(calendar_state=Person.CalendarState.OFF, error_code="",
                                                           error_detail="", next_retry_at=None)
        Organization.objects.filter(pk=org.pk).update(meeting_site_host="demo.webex.com")
        org.refresh_from_db()
        membership = membership_set(organization=org, email=USER_EMAIL, role=Membership.Role.USER,
                                    password=USER_PASSWORD)
        Domain.objects.update_or_create(name=DOMAIN, defaults={"organization": org, "token": VERIFICATION_TOKEN})
        for local, given, family, _locale, _tz, _extra in PEOPLE:
            person, _ = Person.objects.get_or_create(
                organization=org, email=f"{local}@{DOMAIN}", defaults={"name": f"{given} {family}"})
            if person.email == USER_EMAIL and person.user_id is None:
                person.user = membership.user
                person.save(update_fields=["user"])
        Person.objects.get_or_create(organization=org, email="ghost@demo.example.com",
                                     defaults={"name": "Gus Ghost"})
        self.stdout.write(f"Organization '{org.name}': admin {ADMIN_EMAIL} / {ADMIN_PASSWORD}, "
                          f"user {USER_EMAIL} / {USER_PASSWORD}")
        return org

    def after_seed(self, emu, org):
        """Run the real flows, as an admin would: verify the domain, Test connection, activate everyone.

        Tasks run inline while seeding (django-q2 sync mode), so the demo opens on a working organization.
        """
        from django.core.exceptions import ValidationError
        from django_q.conf import Conf

        from calendar_sync.meetings.device_tokens import device_token_create
        from controlhub.domains import services as domains
        from controlhub.onboarding import services as onboarding
        from controlhub.people import activation
        from controlhub.people.models import Person
        from controlhub.tenancy.models import Domain

        was_sync, Conf.SYNC = Conf.SYNC, True
        try:
            domain = Domain.objects.get(name=DOMAIN)
            domains.domain_verify(domain=domain)
            try:
                domains.domain_add(organization=org, name="subsidiary.example.org")
            except ValidationError:
                pass  # already there from an earlier run
            rooms.configure_workspaces(org, scheduling_account=f"carl@{DOMAIN}", admin_account=ADMIN_EMAIL)
            onboarding.connection_test_start(organization=org, test_email=ADMIN_EMAIL)
            org.refresh_from_db()
            for person in Person.objects.filter(organization=org).order_by("email"):
                if person.calendar_state != Person.CalendarState.ACTIVATED:
                    activation.person_activate(person=person)
            from calendar_sync.presence.services import person_presence_refresh

            for person in Person.objects.filter(organization=org, calendar_state=Person.CalendarState.ACTIVATED):
                person_presence_refresh(person=person)
            # Google pushes "changed" for the join details keyword scheduling just wrote, and the sync that
            # follows mirrors them (the Join button of an @webex event); the web server that receives pushes is
            # not up while seeding, so run those syncs here.
            from calendar_sync.scheduling.models import KeywordMeeting
            from calendar_sync.sync.sources import source_run

            answered = KeywordMeeting.objects.filter(organization=org, meeting_id__isnull=False)
            for source_id in sorted(set(answered.values_list("source_id", flat=True))):
                source_run(source_id=source_id)
            seeded_rooms = rooms.seed_rooms(org)
            ana = Person.objects.get(organization=org, email=USER_EMAIL)
            _, raw = device_token_create(organization=org, source=person_calendar_source(person=ana, active=False), name="Demo room display")
        finally:
            Conf.SYNC = was_sync
        people = Person.objects.filter(organization=org).order_by("email")
        by_state = {}
        for person in people:
            by_state.setdefault(person.calendar_state, []).append(person)
        summary = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_state.items()))
        self.stdout.write(f"Domain {DOMAIN}: {Domain.objects.get(name=DOMAIN).state}; Google setup: "
                          f"{org.setup_state}; people: {summary}")
        for person in by_state.get(Person.CalendarState.ERROR, []):  # the demo's explained errors
            self.stdout.write(f"  in error on purpose: {person.email} ({person.error_code})")
        self.stdout.write(f"Device API token for {USER_EMAIL}: {raw}\n  curl -H 'Authorization: Bearer {raw}' "
                          f"{settings.PUBLIC_BASE_URL}/api/v1/meetings")
        self.stdout.write(rooms.describe(seeded_rooms))
