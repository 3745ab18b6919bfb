"""Service-account key parsing: every malformed key, however hostile, is one clear ``InvalidKeyFile`` (never a
500), and a key for another Google Cloud universe is refused by name."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from calendar_sync.google.errors import InvalidKeyFile
from calendar_sync.google.keys import MAX_KEY_BYTES, load_service_account_file, parse_service_account_key

pytestmark = pytest.mark.django_db

# Each under the 64 KB bound, so the parser itself meets the nesting.
NESTED = [
    b"[" * 50000,
    b'{"a":' * 12000,
    b"[" * 30000 + b"]" * 30000,
]
NESTED_IDS = ["open-arrays", "open-objects", "closed-arrays"]


def _nested_key(key, depth):
    value = "x"
    for _ in range(depth):
        value = [value]
    return json.dumps(dict(key, extra=value)).encode()


@pytest.mark.parametrize("content", NESTED, ids=NESTED_IDS)
def test_deeply_nested_json_is_an_invalid_key(content):
    for data in (content, content.decode()):
        with pytest.raises(InvalidKeyFile, match="nested too deeply"):
            parse_service_account_key(data)


def test_a_valid_key_with_a_deeply_nested_extra_field_is_refused(google):
    with pytest.raises(InvalidKeyFile, match="nested too deeply"):
        parse_service_account_key(_nested_key(google.key, 500))
    with pytest.raises(InvalidKeyFile, match="nested too deeply"):
        parse_service_account_key(json.loads(_nested_key(google.key, 500)))


def test_oversized_input_is_refused_before_parsing(google):
    padded = dict(google.key, padding="x" * MAX_KEY_BYTES)
    for data in (json.dumps(padded), json.dumps(padded).encode(), b" " * (MAX_KEY_BYTES + 1)):
        with pytest.raises(InvalidKeyFile, match="too large") as info:
            parse_service_account_key(data)
        assert "64 KB" in str(info.value)


def test_oversized_deployment_file_is_refused(tmp_path, google):
    path = tmp_path / "huge.json"
    path.write_bytes(json.dumps(dict(google.key, padding="x" * MAX_KEY_BYTES)).encode())
    with pytest.raises(InvalidKeyFile, match="too large"):
        load_service_account_file(str(path))


def test_emulator_key_is_accepted(google):
    assert google.key["universe_domain"] == "googleapis.com"
    key = parse_service_account_key(json.dumps(google.key))
    assert key.client_id == google.client_id
    without = {k: v for k, v in google.key.items() if k != "universe_domain"}  # older keys have no such field
    assert parse_service_account_key(without).client_id == google.client_id


@pytest.mark.parametrize("universe", ["evil.example", "googleapis.com.evil.example", "", 7, ["googleapis.com"]])
def test_other_universe_is_refused_unless_allowed(google, universe):
    data = dict(google.key, universe_domain=universe)
    with pytest.raises(InvalidKeyFile, match="universe_domain") as info:
        parse_service_account_key(data)
    assert "googleapis.com" in str(info.value)
    if isinstance(universe, str) and universe:
        assert parse_service_account_key(data, allow_other_universe=True).client_id == google.client_id


# --- through the real upload form, as a full admin -----------------------------------------------------------
def _upload(client, content):
    return client.post(reverse("onboarding_key_upload"), {"key_file": SimpleUploadedFile("key.json", content)})


@pytest.mark.parametrize("content", NESTED, ids=NESTED_IDS)
def test_upload_of_nested_json_is_a_clear_error_not_a_500(admin_client, org, google, content):
    response = _upload(admin_client, content)
    assert response.status_code == 400
    assert "nested too deeply" in response.content.decode()
    org.refresh_from_db()
    assert not org.own_key_ciphertext


def test_upload_of_a_key_for_another_universe_is_refused(admin_client, org, google, settings):
    settings.GOOGLE_API_ENDPOINT = ""  # real Google: only googleapis.com keys
    response = _upload(admin_client, json.dumps(dict(google.key, universe_domain="evil.example")).encode())
    assert response.status_code == 400
    html = response.content.decode()
    assert "universe_domain" in html and "evil.example" in html
    org.refresh_from_db()
    assert not org.own_key_ciphertext


def test_another_universe_is_accepted_only_against_a_configured_endpoint(admin_client, org, google):
    """Pointed at the emulator (GOOGLE_API_ENDPOINT set), the universe is the operator's choice."""
    response = _upload(admin_client, json.dumps(dict(google.key, universe_domain="emulator.example")).encode())
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.own_key_ciphertext
