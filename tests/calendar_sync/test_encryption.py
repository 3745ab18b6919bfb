"""Nothing of a meeting's content is in the database or the task queue in plaintext; tampering fails loudly."""

import base64

import pytest
from django.db import connection
from django_q.models import OrmQ, Task

from calendar_sync.encryption.crypto import DecryptionError
from calendar_sync.sync.meeting_fields import decrypt_field
from calendar_sync.sync.models import Meeting
from controlhub.people.calendar import person_calendar_start
from tests.calendar_sync.conftest import event_at, soon

pytestmark = pytest.mark.django_db

SECRETS = ["Merger with Initech", "Confidential layoffs plan", "carol.secret@partner.test", "Room Tangerine",
           "https://acme.webex.com/meet/merger", "Dana Secretname"]


def dump_database():
    """Every row of every table as text (binary columns as hex and as raw bytes), on any database backend."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        raw = bytes(value)
                        chunks += [raw.hex(), raw.decode("latin-1")]
                    else:
                        chunks.append(str(value))
    assert chunks, "the dump read nothing"
    return "\n".join(chunks)


def test_database_and_task_queue_hold_no_plaintext(google, activated, settings):
    settings.WEBHOOK_BASE_URL = "http://127.0.0.1:9"
    ana = activated("ana@acme.test")
    google.create_event(ana.email, event_at(
        SECRETS[0], soon(), description=SECRETS[1] + " " + SECRETS[4], location=SECRETS[3],
        attendees=[{"email": SECRETS[2], "displayName": SECRETS[5]}]))
    from django_q.tasks import async_task

    async_task("controlhub.people.calendar.person_calendar_start_task", ana.pk)  # as activation enqueues it (runs inline)
    assert Meeting.objects.count() == 1
    assert person_calendar_start(person_id=ana.pk) is not None

    dump = dump_database()
    for secret in SECRETS:
        assert secret not in dump
        assert secret.encode().hex() not in dump.lower()
    queued = [repr((t.func, t.args, t.kwargs, t.result)) for t in Task.objects.all()]
    queued += [str(q.payload) for q in OrmQ.objects.all()]
    assert Task.objects.filter(func="controlhub.people.calendar.person_calendar_start_task").exists()
    for secret in SECRETS:
        assert not any(secret in text for text in queued)


def test_moved_ciphertext_and_wrong_key_fail_loudly(google, activated, settings):
    settings.WEBHOOK_BASE_URL = "http://127.0.0.1:9"
    ana = activated("ana@acme.test")
    google.create_event(ana.email, event_at("One", soon()))
    google.create_event(ana.email, event_at("Two", soon(3)))
    person_calendar_start(person_id=ana.pk)
    one, two = Meeting.objects.order_by("start")
    assert decrypt_field(ana.organization, one, "title") == "One"
    two.title_enc = one.title_enc  # copied to another row
    with pytest.raises(DecryptionError):
        decrypt_field(ana.organization, two, "title")
    one.location_enc = one.title_enc  # moved to another column
    with pytest.raises(DecryptionError):
        decrypt_field(ana.organization, one, "location")
    from controlhub.tenancy.keys import forget_ciphers

    settings.ENCRYPTION_KEYS = "other:" + base64.urlsafe_b64encode(b"x" * 32).decode()
    forget_ciphers()
    with pytest.raises(DecryptionError):
        decrypt_field(ana.organization, Meeting.objects.get(pk=one.pk), "title")
