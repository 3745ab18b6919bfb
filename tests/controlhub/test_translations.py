"""Every page, rendered in French and in Korean, shows no English UI text.

Each page of the tour (tests/browser/tour.py) plus the states the tour does not reach (Test connection outcomes,
DNS verification outcomes, forms submitted with errors, the sign-in pages, the room display, 403/404) is rendered
with the Django test client in English, French and Korean, as the product picks the language (the language cookie
and Accept-Language). From each page we take what a person reads or hears: text nodes and the ``title``,
``aria-label``, ``placeholder``, ``alt`` attributes and the labels the scripts show (``data-*-label``). A piece of
text is *untranslated* when it is the same in English and in the other language and still holds an English word
once the page's data is taken out: names, addresses, titles and Google's own texts from the database, product
names, e-mail addresses, URLs, domains, numbers and times. Machine-readable content (``code``, ``pre``, ``kbd``)
and text marked in another language (``lang="en"``, the language picker) is not UI text.
"""

import json
import re
import zoneinfo
from html.parser import HTMLParser

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from calendar_sync.meetings.models import DeviceToken
from calendar_sync.sync.meeting_fields import decrypt_fields
from calendar_sync.sync.models import Meeting
from calendar_sync.workspaces import displays
from calendar_sync.workspaces.models import Room, RoomDisplay
from controlhub.onboarding.models import ConnectionTest
from controlhub.people.calendar_health import MSG_SYNC_FAILING, MSG_SYNC_RECOVERED
from controlhub.people.models import BulkJob, Person, PersonHistory
from controlhub.tenancy.models import Domain, Organization
from tests.browser.tour import ANONYMOUS_PAGES, pages, seed_everything
from tests.calendar_sync.workspaces.conftest import (  # noqa: F401 - fixtures
    active_room,
    rooms_google,
    workspaces_on,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

LANGUAGES = ("fr", "ko")

# Names that stay as they are in every language (product and company names, Webex's Control Hub, protocol names).
PROPER_NOUNS = [
    "Calendar Hub", "Control Hub", "Google Workspace", "Google Admin", "Google Cloud", "Google", "Gmail", "Webex", "Jitsi",
    "BigBlueButton", "Zoom", "Meet", "Teams", "Microsoft", "SIP", "DNS", "TXT", "NXDOMAIN", "CSV", "JSON", "API",
    "URL", "HTTPS", "ID", "QR", "UTC", "JWT", "SHA", "OK",
]
# Words French writes exactly like English; each is the French word here, not a leftover.
SAME_IN_FRENCH = {"menu", "total", "date", "type", "actions", "action", "description", "options", "notifications",
                  "message", "messages", "code", "source", "sessions", "minutes", "minute", "service", "simulation",
                  "participant", "participants",
                  "max", "min", "invitation"}

MACHINE_TEXT = re.compile(
    r"\"[^\"]*\""  # quoted: Google's own error text, a JSON field name (they stay as written)
    r"|[\w.+-]+@[\w.-]+"  # email addresses
    r"|\b[a-z][a-z0-9+.-]*:[^\s\"'<>]+"  # URLs, sip:, tel:
    r"|\b[\w-]+(?:\.[\w-]+)+\b"  # domains, file names, scopes, dotted codes
    r"|\b\w*\d\w*\b"  # numbers, times, ids
    r"|\b[a-z]+_[a-z_]+\b"  # error codes
    r"|\b[A-Z]{2,}\b",  # acronyms
)
# What the emulated Google directory holds besides the database's rows (the rooms import lists them).
GOOGLE_DIRECTORY = ["Room A", "Room B"]
WORD = re.compile(r"[A-Za-z]{2,}")


SCRIPT_TEXT = {"data-label", "data-confirm", "data-on", "data-off", "data-blocked", "data-notify-title"}


class _Visible(HTMLParser):
    """Text a person reads or hears, skipping scripts, styles, machine-readable and other-language content."""

    SKIP = {"script", "style", "code", "pre", "kbd", "samp", "textarea"}
    ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "aria-description"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, language):
        super().__init__(convert_charrefs=True)
        self.language = language
        self.stack = []  # (tag, skipped)
        self.texts = []

    @staticmethod
    def _script_text(name):
        """A data attribute holding text the page's scripts show (labels, questions, states)."""
        return (name.startswith("data-l-") or name.endswith("-label") or name in SCRIPT_TEXT)

    def _skipped(self):
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        lang = attrs.get("lang")
        skipped = (self._skipped() or tag in self.SKIP or attrs.get("translate") == "no"
                   or (lang is not None and tag != "html" and lang.split("-")[0] != self.language))
        if not skipped:
            for name, value in attrs.items():
                if not value:
                    continue
                if name in self.ATTRIBUTES or self._script_text(name):
                    self.texts.append(value)
                elif name == "data-confirm-questions":  # {action: {selection: question}}, written by the server
                    self.texts.extend(_strings(json.loads(value)))
                if name == "value" and value and attrs.get("type") in ("submit", "button"):
                    self.texts.append(value)
        if tag not in self.VOID:
            self.stack.append((tag, skipped))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):  # tolerate unclosed tags such as <li>, <p>
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._skipped():
            self.texts.append(data)


def visible_texts(markup, language):
    parser = _Visible(language)
    parser.feed(markup)
    return {" ".join(t.split()) for t in parser.texts if t.strip()}


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def page_data(org):
    """What the organization's people, rooms and meetings typed or Google said: shown as it is in every language."""
    values = {org.name}
    for person in Person.objects.filter(organization=org):
        values |= {person.name, person.email, person.error_detail}
    values |= set(get_user_model().objects.values_list("email", flat=True))
    for reason in Domain.objects.filter(organization=org).values_list("failure_reason", flat=True):
        values |= {reason, *reason.splitlines()}  # what DNS answered: the TXT records found
    values |= set(DeviceToken.objects.filter(organization=org).values_list("name", flat=True))
    values |= set(RoomDisplay.objects.filter(room__organization=org).values_list("name", flat=True))
    for room in Room.objects.filter(organization=org):
        values |= {room.name, room.email, room.building, room.floor, *(room.features or [])}
    for job in BulkJob.objects.filter(organization=org):  # a CSV's file name and rows
        values |= set(_strings(job.payload)) | set(_strings(job.result))
    for test in ConnectionTest.objects.filter(organization=org):
        values |= {r["detail"] for r in test.results if not r.get("note")}  # Google's own words
        values |= {r["params"]["google"] for r in test.results if "google" in r.get("params", {})}
    for meeting in Meeting.objects.filter(source__organization=org):
        fields = decrypt_fields(org, meeting)
        values |= {fields.get("title"), fields.get("organizer_name"), fields.get("location"),
                   fields.get("description")}
        values |= {a.get("name") for a in fields.get("attendees") or []}
    values |= set(GOOGLE_DIRECTORY) | {name for _code, name in django_settings.LANGUAGES}  # languages in their own name
    values |= {zone.replace("_", " ") for zone in zoneinfo.available_timezones()} | zoneinfo.available_timezones()
    return sorted((v for v in values if v and len(v) > 2), key=len, reverse=True)


def english_left(text, language, data):
    """The English words ``text`` still has once data, names and machine text are taken out (empty: fine)."""
    for value in data:
        text = text.replace(value, " ")
    for noun in PROPER_NOUNS:
        text = re.sub(rf"\b{re.escape(noun)}\b", " ", text)
    text = MACHINE_TEXT.sub(" ", text)
    words = WORD.findall(text)
    if language == "fr":
        words = [w for w in words if w.lower() not in SAME_IN_FRENCH]
    return words


def english_run(text, language, data):
    """Whether ``text``, once data, names and machine text are out, still reads English: two Latin words in a row
    in Korean, a word French never writes in French."""
    for value in data:
        text = text.replace(value, " ")
    for noun in PROPER_NOUNS:
        text = re.sub(rf"\b{re.escape(noun)}\b", " ", text)
    text = MACHINE_TEXT.sub(" ", text)
    if language == "ko":  # Korean has no Latin words of its own: two in a row are English
        return re.search(r"\b[A-Za-z]{2,}\s+[A-Za-z]{2,}\b", text) is not None
    return ENGLISH_ONLY_WORDS.search(text) is not None  # French: words French never writes


ENGLISH_ONLY_WORDS = re.compile(r"\b(the|is|are|was|and|not|with|this|that|your|you|has|have|of|for|to)\b", re.I)


def render(client, language, method, path, data=None, **extra):
    client.cookies["django_language"] = language
    call = client.post if method == "post" else client.get
    response = call(path, data or {}, HTTP_ACCEPT_LANGUAGE=language, follow=method == "post", **extra)
    assert response.status_code < 500, (path, response.status_code)
    return response.content.decode() if "html" in response.get("Content-Type", "") else ""


# A moment written the English way (ISO date and time, or a.m./p.m.): in French and Korean every page writes it
# in the language's one format (controlhub/formats).
ENGLISH_MOMENT = re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|\b[ap]\.m\.")


def find_untranslated(client, name, method, path, data, org):
    """{language: [text, ...]} for one page (or one form submission): English left, and moments written in the
    English format."""
    files = {k: v for k, v in (data or {}).items() if callable(v)}
    def payload():
        return {**{k: v for k, v in (data or {}).items() if not callable(v)}, **{k: f() for k, f in files.items()}}
    english = visible_texts(render(client, "en", method, path, payload()), "en")
    assert english, f"{name}: nothing rendered"
    found = {}
    for language in LANGUAGES:
        texts = visible_texts(render(client, language, method, path, payload()), language)
        words_data = page_data(org)
        left = sorted(t for t in texts & english if english_left(t, language, words_data))
        left += sorted(f"(date format) {t}" for t in texts if ENGLISH_MOMENT.search(t))
        # English left inside a translated sentence (a placeholder filled with English, half a sentence).
        left += sorted(f"(in a sentence) {t}" for t in texts - english if english_run(t, language, words_data))
        if left:
            found[language] = left
    return found


# --- the states the tour does not reach --------------------------------------------------------------------------
def run_connection_tests(client, google):
    """Real Test connection runs against the emulator: one all green, one with the client not authorized, one
    with the Gmail scope missing, one with an unknown test account. Returns their ids."""
    ids = []
    for setup, email in ((None, "ana@acme.test"),
                         ("revoke", "ana@acme.test"),
                         ("calendar_only", "ana@acme.test"),
                         (None, "nobody@acme.test")):
        if setup == "revoke":
            google.revoke("acme.test", google.client_id)
        elif setup == "calendar_only":
            from tests.conftest import SCOPES_CORE
            google.delegate("acme.test", google.client_id, SCOPES_CORE[:1])
        client.post(reverse("onboarding_test_start"), {"test_email": email})
        ids.append(ConnectionTest.objects.filter(organization__slug__isnull=False).order_by("-pk").first().pk)
    from tests.calendar_sync.workspaces.conftest import ROOM_SCOPES
    google.delegate("acme.test", google.client_id, ROOM_SCOPES)
    return ids


def dns_outcomes(org, google):
    """Domains whose verification ends in each DNS outcome (published, missing, wrong value, none, NXDOMAIN)."""
    cases = {}
    for name, records in (("found.test", "ours"), ("missing.test", ["v=spf1 -all"]),
                          ("stale.test", ["calendarhub-verification=stale-token"]), ("empty.test", []),
                          ("nowhere.test", None)):
        domain = Domain.objects.create(organization=org, name=name)
        if records == "ours":
            records = [domain.txt_value]
        if records is not None:
            google.dns_txt(name, records)
        cases[name] = domain.pk
    return cases


def csv_file(content, name="people.csv"):
    return lambda: SimpleUploadedFile(name, content.encode(), content_type="text/csv")


def test_no_page_shows_english_in_french_or_korean(client, org, admin_user, plain_user, active_room,  # noqa: F811
                                                   rooms_google, settings):  # noqa: F811
    settings.DEBUG = False
    seeded = seed_everything(org, admin_user, room=active_room)
    for message in (f"{MSG_SYNC_FAILING}: delegation_not_authorized", MSG_SYNC_RECOVERED,
                    "Activation will be retried at 2026-05-04 10:10:00 UTC", "Reactivation requested"):
        PersonHistory.objects.create(person=seeded.error_person, message=message)  # as the services write them
    client.force_login(admin_user)
    tests = run_connection_tests(client, rooms_google)
    domains = dns_outcomes(org, rooms_google)
    Organization.objects.filter(pk=org.pk).update(setup_state="ready")

    admin_pages = [(name, "get", path, None) for name, path, _ready in pages(seeded)]
    admin_pages += [
        ("sync health", "get", reverse("sync_health"), None),
        ("people add, invalid", "post", reverse("people_add"),
         {"email": "not an address", "name": "=cmd()", "language": "xx", "time_zone": "Mars/Base"}),
        ("people csv, invalid", "post", reverse("people_csv"), {"file": csv_file("", "empty.txt")}),
        ("people csv dry run", "post", reverse("people_csv"),
         {"file": csv_file("email,name\nnew@acme.test,New\nbroken,Broken\nold@elsewhere.test,Old\n")}),
        ("people bulk, invalid", "post", reverse("people_bulk"), {"action": "nope"}),
        ("directory import, invalid", "post", reverse("people_directory"), {"admin_email": "nobody"}),
        ("people filtered", "get", reverse("people") + "?state=error", None),
        ("domains, invalid", "post", reverse("domains"), {"name": "http://not a domain/"}),
        ("onboarding key upload, invalid", "post", reverse("onboarding_key_upload"),
         {"key_file": csv_file("{not json", "key.json")}),
        ("onboarding test, invalid", "post", reverse("onboarding_test_start"), {"test_email": "nobody"}),
        ("meeting service, invalid", "post", reverse("meeting_service_save"),
         {"kind": "webex", "webex_site_url": "not a site"}),
        ("meeting service test, invalid", "post", reverse("meeting_service_test"), {"email": "x"}),
        ("meeting service test", "post", reverse("meeting_service_test"), {"email": "admin@acme.test"}),
        ("workspaces add, invalid", "post", reverse("workspaces_add"), {"email": "not-an-address"}),
        ("workspaces settings, invalid", "post", reverse("workspaces_settings"),
         {"enabled": "on", "scheduling_account": "nobody"}),
        ("room display pairing, invalid", "post", reverse("workspace_display_create", args=[active_room.pk]),
         {"name": "x" * 300}),
        ("room policy, invalid", "post", reverse("workspace_room_policy", args=[active_room.pk]),
         {"release_minutes": "0"}),
    ]
    admin_pages += [
        ("workspaces import done", "post", reverse("workspaces_import"), {"all": "1"}),
        ("directory import job", "post", reverse("people_directory"), {"admin_email": "admin@acme.test"}),
        ("bulk activate job", "post", reverse("people_bulk"), {"action": "activate", "selection": "all"}),
    ]
    admin_pages += [(f"test connection panel #{i}", "get", reverse("onboarding_test_panel", args=[pk]), None)
                    for i, pk in enumerate(tests)]
    admin_pages += [(f"domain verify {name}", "post", reverse("domain_verify", args=[pk]), None)
                    for name, pk in domains.items()]

    problems = []

    def check(name, method, path, data):
        for language, texts in find_untranslated(client, name, method, path, data, org).items():
            problems.append(f"{name} [{language}] {path}: " + " | ".join(texts))

    for name, method, path, data in admin_pages:
        check(name, method, path, data)

    display, raw = displays.display_create(room=active_room, name="Lobby panel", actor=admin_user)
    check("room display", "get", reverse("room_display", args=[raw]), None)
    check("room display, unknown token", "get", reverse("room_display", args=["nope" * 8]), None)

    client.force_login(plain_user)
    check("403", "get", reverse("dashboard"), None)
    check("user meetings", "get", reverse("meetings"), None)
    check("user calendar service", "get", reverse("me"), None)
    with override_settings(DEBUG=True):
        check("404 in the demo", "get", "/no-such-page/", None)

    client.logout()
    for name, path, _ready in ANONYMOUS_PAGES:
        check(name, "get", path, None)
    check("sign-in, wrong password", "post", reverse("login"), {"username": "admin@acme.test", "password": "x"})
    check("sign-in, empty", "post", reverse("login"), {"username": "", "password": ""})
    check("sign-in link sent", "post", reverse("signin_link"), {"email": "user001@acme.test"})
    check("sign-in link, invalid", "post", reverse("signin_link"), {"email": "nope"})
    check("sign-in link, expired", "get", "/accounts/link/signin/MQ/expired-token/", None)
    link = next(word for word in mail.outbox[-1].body.split() if "/accounts/link/" in word)
    check("sign-in link, confirm", "get", link.split("testserver", 1)[1], None)
    assert PASSWORD  # the users' password, used by the fixtures

    assert not problems, f"{len(problems)} page(s) show English in French or Korean:\n" + "\n".join(problems)
