"""One Webex emulator per session, reset before every test; a seeded site with hosts and two apps."""

from __future__ import annotations

import datetime as dt

import pytest

from webex_emulator.server import Emulator

from .helpers import ADMIN_SCOPES, SITE, USER_SCOPES, Api, Control


@pytest.fixture(scope="session")
def emulator():
    with Emulator(host="127.0.0.1", port=0) as emu:
        yield emu


@pytest.fixture
def ctl(emulator):
    control = Control(emulator.base_url)
    control("POST", "/reset")
    return control


@pytest.fixture
def world(emulator, ctl):
    """Hosts ana and bob on acme.webex.com, carol (an attendee account), dan (a host of another site)."""
    ctl(
        "POST",
        "/users",
        {"email": "ana@acme.test", "displayName": "Ana Lima", "siteUrl": SITE, "personalRoomId": "ana.lima"},
    )
    ctl("POST", "/users", {"email": "bob@acme.test", "displayName": "Bob Stone", "siteUrl": SITE})
    ctl("POST", "/users", {"email": "carol@acme.test", "siteUrl": SITE, "host": False})
    ctl("POST", "/users", {"email": "dan@other.test", "siteUrl": "other.webex.com"})
    admin = ctl("POST", "/service-apps", {"name": "Calendar Hub", "scopes": ADMIN_SCOPES, "siteUrls": [SITE]})
    user = ctl(
        "POST", "/service-apps", {"name": "Ana's integration", "scopes": USER_SCOPES, "user": "ana@acme.test"}
    )

    class World:
        pass

    w = World()
    w.base = emulator.base_url
    w.emulator = emulator
    w.ctl = ctl
    w.admin = Api(emulator.base_url, admin)
    w.ana = Api(emulator.base_url, user)
    return w


def iso_in(minutes: int) -> str:
    when = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=minutes)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def meeting_body():
    def make(**fields):
        return {
            "title": "Design review",
            "start": iso_in(60),
            "end": iso_in(90),
            "timezone": "UTC",
            "hostEmail": "ana@acme.test",
            **fields,
        }

    return make
