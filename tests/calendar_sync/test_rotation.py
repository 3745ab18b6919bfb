"""Key rotation: master key re-wrap, and an org's data key rotated in resumable batches."""

import pytest
from django.core.management import call_command

from calendar_sync.encryption.crypto import DataCipher, MasterKeyring, aad_for
from calendar_sync.key_rotation import org_key_rotate, org_rotation_pending
from calendar_sync.sync.meeting_fields import decrypt_field
from calendar_sync.sync.models import Meeting
from controlhub.people.calendar import person_calendar_start
from controlhub.tenancy.keys import forget_ciphers, org_cipher
from controlhub.tenancy.models import OrgDataKey
from tests.calendar_sync.conftest import event_at, soon

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(google, activated, settings):
    settings.WEBHOOK_BASE_URL = "http://127.0.0.1:9"
    ana = activated("ana@acme.test")
    for i in range(7):
        google.create_event(ana.email, event_at(f"Meeting {i}", soon(i + 1)))
    person_calendar_start(person_id=ana.pk)
    return ana


def titles(org):
    return sorted(decrypt_field(org, m, "title") for m in Meeting.objects.all())


def test_generate_master_key_and_rewrap(synced, settings, capsys):
    org = synced.organization
    call_command("generate_master_key")
    entry = capsys.readouterr().out.strip()
    MasterKeyring.parse(entry)
    old = OrgDataKey.objects.get(organization=org).wrapped
    settings.ENCRYPTION_KEYS = entry + "," + settings.ENCRYPTION_KEYS
    forget_ciphers()
    call_command("rotate_keys")
    assert "re-wrapped 1" in capsys.readouterr().out
    new = OrgDataKey.objects.get(organization=org).wrapped
    assert new != old and MasterKeyring.key_id_of(new) == entry.split(":")[0]
    settings.ENCRYPTION_KEYS = entry  # the old master key can now be dropped
    forget_ciphers()
    assert titles(org) == [f"Meeting {i}" for i in range(7)]


def test_org_rotation_is_resumable_after_a_kill(synced, monkeypatch):
    org = synced.organization
    own = org_cipher(org).encrypt('{"type": "service_account"}', aad=aad_for("controlhub_organization", "own_key",
                                                                               org.pk))
    type(org).objects.filter(pk=org.pk).update(own_key_ciphertext=own)
    from calendar_sync import key_rotation as rotation

    real = rotation.Meeting.objects.bulk_update
    calls = {"n": 0}

    def killed_after_first_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(rotation.Meeting.objects, "bulk_update", killed_after_first_batch)
    with pytest.raises(KeyboardInterrupt):
        org_key_rotate(organization=org, batch_size=3)
    assert sorted(Meeting.objects.values_list("key_version", flat=True)) == [1, 1, 1, 1, 2, 2, 2]
    assert org_rotation_pending(organization=org)
    monkeypatch.undo()
    call_command("rotate_keys", "--org", org.slug, "--batch-size", "3")
    assert set(Meeting.objects.values_list("key_version", flat=True)) == {2}
    assert OrgDataKey.objects.filter(organization=org).count() == 2  # resumed, no third version
    org.refresh_from_db()
    assert DataCipher.key_version_of(bytes(org.own_key_ciphertext)) == 2
    assert titles(org) == [f"Meeting {i}" for i in range(7)]
    for m in Meeting.objects.all():
        assert DataCipher.key_version_of(bytes(m.title_enc)) == 2
    # A fresh rotation creates version 3.
    org_key_rotate(organization=org)
    assert set(Meeting.objects.values_list("key_version", flat=True)) == {3}


def test_unknown_org_is_a_clear_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("rotate_keys", "--org", "nope")
