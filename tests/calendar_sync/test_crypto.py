import base64

import pytest

from calendar_sync.encryption.crypto import (
    CryptoError,
    DataCipher,
    DecryptionError,
    KeyConfigError,
    MasterKeyring,
    aad_for,
    generate_master_key,
    new_data_key,
)

KEY_A = base64.urlsafe_b64encode(bytes(range(32))).decode()
KEY_B = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()
AAD = aad_for("calendar_sync_meeting", "title", 123)


@pytest.fixture
def cipher():
    return DataCipher(new_data_key(), key_version=1)


# --- DataCipher -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Weekly sync", "", "주간 회의 — 서울 본사 3층", "Réunion d'équipe à l'hôtel de ville", "emoji 🎉 ok"],
)
def test_round_trip(cipher, text):
    blob = cipher.encrypt(text, aad=AAD)
    assert isinstance(blob, bytes)
    assert text.encode() not in blob or text == ""
    assert cipher.decrypt(blob, aad=AAD) == text


def test_none_stays_none(cipher):
    assert cipher.encrypt(None, aad=AAD) is None
    assert cipher.decrypt(None, aad=AAD) is None


def test_format_and_fresh_nonce(cipher):
    blob = cipher.encrypt("x", aad=AAD)
    assert blob[:1] == b"\x01"
    assert blob[1:5] == (1).to_bytes(4, "big")
    assert len(blob) == 1 + 4 + 12 + 1 + 16
    assert cipher.encrypt("x", aad=AAD) != blob
    assert DataCipher.key_version_of(blob) == 1


def test_encrypt_many_is_encrypt_for_each_value(cipher):
    aads = [aad_for("calendar_sync_meeting", column, 7) for column in ("title", "body", "location", "join")]
    values = ["Budget", None, "Salle 3 — 서울", "Budget"]
    blobs = cipher.encrypt_many(values, aads)
    assert blobs[1] is None
    assert [cipher.decrypt(b, aad=a) for b, a in zip(blobs, aads, strict=True)] == values
    nonces = [b[5:17] for b in blobs if b is not None]
    assert len(set(nonces)) == len(nonces)  # a fresh nonce for every value
    with pytest.raises(DecryptionError):  # each bound to its own associated data
        cipher.decrypt(blobs[0], aad=aads[3])
    with pytest.raises(ValueError):
        cipher.encrypt_many(["a"], [])
    with pytest.raises(TypeError):
        cipher.encrypt_many([b"bytes"], [AAD])


def test_memoryview_from_database_decrypts(cipher):
    blob = cipher.encrypt("hello", aad=AAD)
    assert cipher.decrypt(memoryview(blob), aad=AAD) == "hello"


@pytest.mark.parametrize(
    "other_aad",
    [
        aad_for("calendar_sync_meeting", "title", 124),
        aad_for("calendar_sync_meeting", "location", 123),
        aad_for("calendar_sync_attendee", "title", 123),
    ],
)
def test_moved_ciphertext_fails(cipher, other_aad):
    blob = cipher.encrypt("secret title", aad=AAD)
    with pytest.raises(DecryptionError, match="moved"):
        cipher.decrypt(blob, aad=other_aad)


@pytest.mark.parametrize("position", [5, 10, 17, 20, -1])
def test_tampered_byte_fails(cipher, position):
    blob = bytearray(cipher.encrypt("secret title", aad=AAD))
    blob[position] ^= 0x01
    with pytest.raises(DecryptionError):
        cipher.decrypt(bytes(blob), aad=AAD)


def test_wrong_data_key_fails(cipher):
    blob = cipher.encrypt("secret", aad=AAD)
    with pytest.raises(DecryptionError, match="wrong data key"):
        DataCipher(new_data_key(), key_version=1).decrypt(blob, aad=AAD)


def test_version_mismatch_fails_loudly():
    key = new_data_key()
    blob = DataCipher(key, key_version=1).encrypt("secret", aad=AAD)
    with pytest.raises(DecryptionError, match="version 1, this cipher holds version 2"):
        DataCipher(new_data_key(), key_version=2).decrypt(blob, aad=AAD)


def test_edited_version_header_fails(cipher):
    blob = bytearray(cipher.encrypt("secret", aad=AAD))
    blob[1:5] = (7).to_bytes(4, "big")
    other = DataCipher(b"\x00" * 32, key_version=7)
    with pytest.raises(DecryptionError):
        other.decrypt(bytes(blob), aad=AAD)


@pytest.mark.parametrize("blob", [b"", b"\x01\x00", b"\x02" + b"\x00" * 40])
def test_malformed_blob_fails(cipher, blob):
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, aad=AAD)


def test_cipher_rejects_bad_key_and_version():
    with pytest.raises(CryptoError):
        DataCipher(b"short", key_version=1)
    with pytest.raises(CryptoError):
        DataCipher(new_data_key(), key_version=-1)
    with pytest.raises(TypeError):
        DataCipher(new_data_key(), key_version=1).encrypt(b"bytes", aad=AAD)


def test_repr_does_not_leak_key():
    key = bytes(range(32))
    assert key.hex() not in repr(DataCipher(key, 3))
    assert repr(DataCipher(key, 3)) == "DataCipher(key_version=3)"


# --- blind index ----------------------------------------------------------------------------------------


def test_blind_index_is_normalized_and_deterministic(cipher):
    index = cipher.blind_index("jane.doe@example.com")
    assert len(index) == 64 and int(index, 16) >= 0
    assert cipher.blind_index("  Jane.Doe@EXAMPLE.com\n") == index
    assert cipher.blind_index("jane.doe2@example.com") != index
    assert cipher.blind_index("élodie@exemple.fr") == cipher.blind_index("E\u0301LODIE@exemple.fr")


def test_blind_index_differs_between_data_keys():
    key = new_data_key()
    assert DataCipher(key, 1).blind_index("a@example.com") == DataCipher(key, 2).blind_index("a@example.com")
    assert DataCipher(key, 1).blind_index("a@example.com") != DataCipher(new_data_key(), 1).blind_index(
        "a@example.com"
    )


def test_blind_index_key_is_not_the_data_key():
    import hashlib
    import hmac

    key = new_data_key()
    plain_hmac = hmac.new(key, b"a@example.com", hashlib.sha256).hexdigest()
    assert DataCipher(key, 1).blind_index("a@example.com") != plain_hmac


# --- aad_for --------------------------------------------------------------------------------------------


def test_aad_for():
    assert aad_for("calendar_sync_meeting", "title", 123) == "calendar_sync_meeting/title/123"
    assert aad_for("calendar_sync_meeting", "title", "7:abc123_20250303T090000Z") == (
        "calendar_sync_meeting/title/7:abc123_20250303T090000Z"
    )
    with pytest.raises(ValueError):
        aad_for("a/b", "title", 1)
    with pytest.raises(ValueError):
        aad_for("t", "", 1)
    with pytest.raises(ValueError):
        aad_for("t", "c", "")
    with pytest.raises(TypeError):
        aad_for("t", "c", True)


# --- master keys ----------------------------------------------------------------------------------------


def test_parse_keyring():
    ring = MasterKeyring.parse(f" k2:{KEY_B} , k1:{KEY_A.rstrip('=')}\n")
    assert ring.primary.key_id == "k2"
    assert ring.key_ids == ("k2", "k1")
    assert ring.get("k1").secret == bytes(range(32))
    assert KEY_B not in repr(ring) and KEY_B not in repr(ring.primary)


def test_parse_accepts_standard_base64():
    std = base64.b64encode(bytes([251] * 32)).decode()
    assert "+" in std or "/" in std
    assert MasterKeyring.parse(f"k:{std}").primary.secret == bytes([251] * 32)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "ENCRYPTION_KEYS is empty"),
        ("   ", "ENCRYPTION_KEYS is empty"),
        (f"k1:{KEY_A},", "entry 2 is empty"),
        (KEY_A, "entry 1 has no key id"),
        (f"bad id:{KEY_A}", "invalid key id"),
        ("k1:", "no key material"),
        ("k1:not*base64!", "'k1' is not valid base64"),
        ("k1:abcde", "'k1' is not valid base64"),
        (f"k1:{base64.urlsafe_b64encode(b'x' * 16).decode()}", "'k1' decodes to 16 bytes, expected 32"),
        (f"k1:{KEY_A},k1:{KEY_B}", "'k1' appears more than once"),
    ],
)
def test_parse_errors_are_clear(value, message):
    with pytest.raises(KeyConfigError, match=message):
        MasterKeyring.parse(value)


def test_parse_error_does_not_echo_key_material():
    secret = base64.urlsafe_b64encode(b"y" * 31).decode()
    with pytest.raises(KeyConfigError) as info:
        MasterKeyring.parse(f"k1:{secret}")
    assert secret not in str(info.value)


def test_generate_master_key_parses():
    entry = generate_master_key()
    kid, _, material = entry.partition(":")
    assert len(kid) == 8 and int(kid, 16) >= 0
    ring = MasterKeyring.parse(entry)
    assert ring.primary.key_id == kid and len(ring.primary.secret) == 32
    assert generate_master_key() != entry


def test_wrap_unwrap():
    ring = MasterKeyring.parse(f"k1:{KEY_A}")
    data_key = new_data_key()
    wrapped = ring.wrap(data_key, context="org:42")
    assert wrapped.startswith("mk1:k1:")
    assert ring.unwrap(wrapped, context="org:42") == data_key
    assert ring.wrap(data_key, context="org:42") != wrapped
    assert not ring.needs_rewrap(wrapped)


def test_wrapped_key_bound_to_context():
    ring = MasterKeyring.parse(f"k1:{KEY_A}")
    wrapped = ring.wrap(new_data_key(), context="org:42")
    with pytest.raises(DecryptionError, match="wrong context"):
        ring.unwrap(wrapped, context="org:43")


def test_wrong_master_key_fails():
    wrapped = MasterKeyring.parse(f"k1:{KEY_A}").wrap(new_data_key(), context="org:1")
    with pytest.raises(DecryptionError):
        MasterKeyring.parse(f"k1:{KEY_B}").unwrap(wrapped, context="org:1")


def test_unknown_master_key_id_fails():
    wrapped = MasterKeyring.parse(f"old:{KEY_A}").wrap(new_data_key(), context="org:1")
    ring = MasterKeyring.parse(f"new:{KEY_B}")
    with pytest.raises(DecryptionError, match="unknown master key id 'old'"):
        ring.unwrap(wrapped, context="org:1")
    with pytest.raises(DecryptionError, match="unknown master key id"):
        ring.get("old")


@pytest.mark.parametrize("wrapped", ["", "mk1:k1", "mk2:k1:AAAA", "mk1:k1:!!!", "mk1:k1:AAAA"])
def test_malformed_wrapped_key_fails(wrapped):
    with pytest.raises(DecryptionError):
        MasterKeyring.parse(f"k1:{KEY_A}").unwrap(wrapped, context="org:1")


def test_tampered_wrapped_key_fails():
    ring = MasterKeyring.parse(f"k1:{KEY_A}")
    wrapped = ring.wrap(new_data_key(), context="org:1")
    last = "A" if wrapped[-1] != "A" else "B"
    with pytest.raises(DecryptionError):
        ring.unwrap(wrapped[:-1] + last, context="org:1")


def test_rotation():
    old_ring = MasterKeyring.parse(f"k1:{KEY_A}")
    data_key = new_data_key()
    old_wrapped = old_ring.wrap(data_key, context="org:42")

    ring = MasterKeyring.parse(f"k2:{KEY_B},k1:{KEY_A}")
    assert ring.unwrap(old_wrapped, context="org:42") == data_key
    assert ring.needs_rewrap(old_wrapped)

    rewrapped = ring.rewrap(old_wrapped, context="org:42")
    assert rewrapped.startswith("mk1:k2:")
    assert not ring.needs_rewrap(rewrapped)
    assert ring.unwrap(rewrapped, context="org:42") == data_key
    assert ring.wrap(data_key, context="org:42").startswith("mk1:k2:")

    # Once the old key is removed from ENCRYPTION_KEYS, only the rewrapped key still opens.
    new_only = MasterKeyring.parse(f"k2:{KEY_B}")
    assert new_only.unwrap(rewrapped, context="org:42") == data_key
    with pytest.raises(DecryptionError):
        new_only.unwrap(old_wrapped, context="org:42")


def test_wrap_rejects_bad_data_key():
    with pytest.raises(CryptoError):
        MasterKeyring.parse(f"k1:{KEY_A}").wrap(b"short", context="org:1")


def test_envelope_end_to_end():
    ring = MasterKeyring.parse(generate_master_key())
    wrapped = ring.wrap(new_data_key(), context="org:7")
    cipher = DataCipher(ring.unwrap(wrapped, context="org:7"), key_version=1)
    aad = aad_for("calendar_sync_meeting", "location", "12:evt_4eahs9ghkhrvkld72hogu9ph3e")
    blob = cipher.encrypt("Salle 3 / 회의실 3", aad=aad)
    again = DataCipher(ring.unwrap(wrapped, context="org:7"), key_version=1)
    assert again.decrypt(blob, aad=aad) == "Salle 3 / 회의실 3"


def test_every_encrypted_column_is_registered_under_its_models_own_table():
    """AAD table names come from ``_meta.db_table`` in one registry; every ``*_enc`` column is declared there."""
    from django.apps import apps

    from calendar_sync.encryption.aad import aad, encrypted_tables
    from calendar_sync.sync.models import Meeting

    registry = encrypted_tables()
    for model in apps.get_models():
        enc = sorted(f.name.removesuffix("_enc") for f in model._meta.fields if f.name.endswith("_enc"))
        if enc:
            assert sorted(registry.get(model._meta.db_table, ())) == enc, model
    assert registry["controlhub_organization"] == ("own_key",)
    assert aad(Meeting, "title", "7:ev1") == "calendar_sync_meeting/title/7:ev1"
