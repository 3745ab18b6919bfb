"""A tour of every page with awkward, realistic data: what the layout and accessibility tests visit.

``seed_everything`` fills one organization with what makes pages wide or busy (a 120-character name, long
domains and errors, many meetings, running jobs, a CSV dry run with many issues, failing syncs, device tokens);
``PAGES`` lists each page as (name, path, selector to wait for); ``visit`` goes there and waits.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from calendar_sync.meetings.device_tokens import device_token_create, device_token_revoke
from calendar_sync.sync.models import CalendarSource
from controlhub.onboarding.models import ConnectionTest
from controlhub.onboarding.services import SCOPE_CALENDAR, SCOPE_GMAIL_SETTINGS
from controlhub.people.csv_import import csv_import_prepare
from controlhub.people.models import BulkJob, Person, PersonHistory
from controlhub.tenancy.models import Domain
from tests.calendar_sync.test_meetings_support import make_meeting, make_person, make_source

LONG_NAME = ("Maximiliana Aurelia Konstantinopoulou-Vanderbilt de la Tour d'Auvergne "
             "Sørensen-Papadimitriou Nakamura-Oyelaran Fitzgera")
assert len(LONG_NAME) == 120
LONG_EMAIL = "maximiliana.aurelia.konstantinopoulou-vanderbilt@acme.test"
LONG_DOMAIN = "departement-des-ressources-humaines-et-de-la-communication-interne.filiale-europe.acme-group.test"


@dataclass
class Seeded:
    long_person: Person
    error_person: Person
    activate_job: BulkJob
    csv_job: BulkJob
    domain_to_remove: Domain
    room: object = None


def seed_everything(org, admin_user, room=None):
    """The organization of ``admin_user``, connected, full of the content that stretches pages (``room``: a
    workspace room of the organization, to visit the workspaces pages)."""
    now = timezone.now()
    org.setup_state = "ready"
    org.setup_checked_at = now
    org.delegation_changed_at = now - timedelta(hours=2)
    org.save()
    Domain.objects.update_or_create(organization=org, name="acme.test", defaults={
        "state": Domain.State.VERIFIED, "verified_at": now, "last_checked_at": now})
    Domain.objects.create(organization=org, name=LONG_DOMAIN, state=Domain.State.PENDING)
    Domain.objects.create(organization=org, name="globex-subsidiary.test", state=Domain.State.FAILED,
                          failure_code="dns_wrong_value", last_checked_at=now,
                          failure_reason="Found TXT records: \"v=spf1 include:_spf.google.com ~all\", "
                                         "\"google-site-verification=4Hx9a7Q0nS2b8kLm3pR5tV7wY1zC3eG5iK7mO9qS1uW\"")

    people = [Person(organization=org, email=f"user{i:03d}@acme.test", name=f"User {i}", state_changed_at=now,
                     calendar_state=("activated", "off", "pending")[i % 3]) for i in range(20)]
    Person.objects.bulk_create(people)
    long_person = make_person(org, LONG_EMAIL, name=LONG_NAME, state="error", error_code="delegation_not_authorized",
                              error_detail="unauthorized_client: Client is unauthorized to retrieve access tokens "
                                           "using this method, or client not authorized for any of the scopes "
                                           "requested.", google_time_zone="America/Argentina/ComodRivadavia",
                              invited_at=now, ooo_start=now - timedelta(days=1), ooo_end=now + timedelta(days=3))
    for message in ("Service enabled", "Validation started",
                    "Error: delegation_not_authorized — unauthorized_client: Client is unauthorized to retrieve "
                    "access tokens using this method, or client not authorized for any of the scopes requested.",
                    "Invitation sent"):
        PersonHistory.objects.create(person=long_person, message=message, actor=admin_user)
    PersonHistory.objects.create(person=long_person, message="Error: delegation_not_authorized",
                                 code="delegation_not_authorized")
    error_person = make_person(org, "zed@acme.test", name="Zed", state="pending", error_code="google_unavailable",
                               next_retry_at=now + timedelta(minutes=5), activation_attempts=2)

    # Failing syncs for the dashboard's health card.
    sync_error = ("delegation_not_authorized: unauthorized_client: Client is unauthorized to retrieve access tokens "
                  "using this method, or client not authorized for any of the scopes requested. "
                  "https://developers.google.com/identity/protocols/oauth2/service-account#delegatingauthority")
    failing = [make_source(person, state=CalendarSource.State.FAILING, attempts=4 + i, last_error_at=now,
                           next_sync_at=now + timedelta(minutes=10), last_error=sync_error)
               for i, person in enumerate((long_person, error_person))]

    # The admin is a calendar user too, with a busy month.
    me = make_person(org, admin_user.email, user=admin_user, name="Uma Park-Lindqvist", google_time_zone="Europe/Paris")
    source = make_source(me)
    seed_meetings(source)

    for name in ("Room 4 display", "Boardroom, 12th floor, north wing — wall panel next to the entrance"):
        device_token_create(organization=org, source=failing[0], name=name, actor=admin_user)
    token, _raw = device_token_create(organization=org, source=source, name="Old lobby kiosk", actor=admin_user)
    device_token_revoke(token=token, actor=admin_user)

    activate_job = BulkJob.objects.create(organization=org, kind=BulkJob.Kind.ACTIVATE, state=BulkJob.State.RUNNING,
                                          created_by=admin_user, total=480, done=173)
    BulkJob.objects.create(organization=org, kind=BulkJob.Kind.DEACTIVATE, state=BulkJob.State.DONE,
                           created_by=admin_user, total=12, done=12, result={"off": 12})
    rows = ["email,name,language,time_zone"]
    rows += [f"new{i}@acme.test,New Person {i},fr,Europe/Paris" for i in range(8)]
    rows += [f"broken-address-{i},Broken {i},xx,Mars/Olympus_Mons" for i in range(30)]
    rows += [f"{LONG_EMAIL},=HYPERLINK(\"http://evil.example/{'a' * 60}\")", "user001@acme.test,User 1"]
    csv_job = csv_import_prepare(organization=org, raw="\n".join(rows).encode(), actor=admin_user,
                                 filename="people-export-from-the-old-directory-2024-final-FINAL-v3.csv")

    ConnectionTest.objects.create(
        organization=org, started_by=admin_user, test_email=LONG_EMAIL, state=ConnectionTest.State.RUNNING,
        results=[
            {"check": "key", "label": "", "status": "pass", "code": "", "detail": ""},
            {"check": "token:" + SCOPE_CALENDAR, "label": "", "status": "fail", "code": "delegation_not_authorized",
             "detail": "unauthorized_client: Client is unauthorized to retrieve access tokens using this method."},
            {"check": "token:" + SCOPE_GMAIL_SETTINGS, "label": "", "status": "pending", "code": "", "detail": ""},
            {"check": "calendar_settings", "label": "", "status": "pending", "code": "", "detail": ""},
        ],
    )
    domain_to_remove = Domain.objects.get(name="acme.test")
    return Seeded(long_person=long_person, error_person=error_person, activate_job=activate_job, csv_job=csv_job,
                  domain_to_remove=domain_to_remove, room=room)


def seed_meetings(source):
    """About thirty meetings over the coming days: long titles, many participants, every provider, all-day."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    attendees = [{"email": source.person.email, "name": source.person.name, "response_status": "accepted",
                  "organizer": False, "resource": False, "self": True}]
    attendees += [{"email": f"guest{i}@example.com", "name": f"Guest Number {i} Longsurname", "organizer": i == 0,
                   "response_status": "accepted", "resource": False, "self": False} for i in range(14)]
    providers = [("webex", "https://acme.webex.com/meet/x"), ("meet", "https://meet.google.com/abc-defg-hij"),
                 ("zoom", "https://acme.zoom.us/j/1"), ("teams", "https://teams.microsoft.com/l/meetup-join/1"),
                 ("sip", "sip:room@acme.test"), ("tel", "tel:+33123456789"), ("", None)]
    make_meeting(source, title="Happening now: weekly operations review",
                 start=timezone.now() - timedelta(minutes=10), minutes=60, join_url="https://acme.webex.com/meet/ops",
                 join_provider="webex")
    for days in (1, 3):  # last week, for the past view
        make_meeting(source, title=f"Retrospective of the launch, {days} days ago", start=now - timedelta(days=days),
                     minutes=30, join_url="https://meet.google.com/abc-defg-hij", join_provider="meet")
    for i in range(24):
        provider, url = providers[i % len(providers)]
        title = ("Quarterly cross-functional planning and budget alignment session with regional leads "
                 f"(EMEA, APAC, Americas) #{i}") if i % 4 == 0 else f"Sync {i}"
        make_meeting(source, title=title, start=now + timedelta(hours=3 + 7 * i), minutes=45,
                     attendees=attendees if i % 2 else None, organizer_name="Guest Number 0 Longsurname",
                     organizer_email="guest0@example.com", join_url=url, join_provider=provider)
    day = timezone.now().date() + timedelta(days=2)
    make_meeting(source, title="Company offsite in the mountains, all teams, bring warm clothes", all_day=True,
                 start_date=day, end_date=day + timedelta(days=1))
    make_meeting(source, title="Vacation", all_day=True, start_date=day + timedelta(days=3),
                 end_date=day + timedelta(days=5), event_type="outOfOffice", attendees=[])


def pages(seeded):
    """(name, path, selector that shows the page is ready) for every page an admin can open."""
    return [
        # The sync health card (an htmx partial) with failing calendars, as the dashboard loads it.
        ("dashboard and sync health", "/dashboard/", "#sync-failing-table"),
        ("people", "/people/", "#people-table"),
        ("person", f"/people/{seeded.long_person.pk}/", "#person-history"),
        ("person pending", f"/people/{seeded.error_person.pk}/", "#person-history"),
        ("people job", f"/people/jobs/{seeded.activate_job.pk}/", "#job-progress-inner"),
        ("csv import", f"/people/jobs/{seeded.csv_job.pk}/", "#csv-issues"),
        ("domains", "/domains/", "#add-domain"),
        ("domain remove", f"/domains/{seeded.domain_to_remove.pk}/remove/", "#affected"),
        ("onboarding", "/onboarding/", "#test-panel"),
        ("me", "/me/", "h1"),
        ("meetings", "/meetings/", "li.mtg"),
        ("meetings past", "/meetings/?past=1", "li.mtg"),
        ("device tokens", "/device-tokens/", "#tokens"),
        ("meeting service", "/meeting-service/", "#meeting-service-form"),
        ("404", "/no-such-page/", "h1"),
    ] + ([
        ("workspaces", "/workspaces/", "#workspace-settings"),
        ("workspaces import", "/workspaces/import/", "#import-form"),
        ("workspace room", f"/workspaces/{seeded.room.pk}/", "#room-state"),
    ] if seeded.room else [])


ANONYMOUS_PAGES = [
    ("login", "/accounts/login/", "form"),
    ("sign-in link", "/accounts/link/", "form"),
]


def visit(page, live_server, path, ready):
    page.goto(live_server.url + path)
    page.locator(ready).first.wait_for()
