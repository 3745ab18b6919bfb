"""Fixtures for the emulator conformance suite: one emulator per session, reset before every test."""

from __future__ import annotations

import pytest

from google_emulator.server import Emulator

from .helpers import Control, PushReceiver, World


@pytest.fixture(scope="session")
def emulator():
    emu = Emulator(host="127.0.0.1", port=0, dns_port=0, allow_insecure_webhooks=True, push_backoff=0.05)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def ctl(emulator):
    control = Control(emulator.base_url)
    control.post("/reset")
    return control


@pytest.fixture
def world(emulator, ctl):
    return World(emulator, ctl)


@pytest.fixture
def receiver():
    r = PushReceiver()
    yield r
    r.close()
