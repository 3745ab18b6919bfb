"""OAuth 2.0 JWT-bearer token endpoint, driven through google-auth."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request

import google_auth_httplib2
import httplib2
import pytest
from google.auth import crypt, jwt
from google.auth.exceptions import RefreshError

from .helpers import CAL, DOMAIN

SHORT_LIVED = (
    "invalid_grant: Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values and use a clock with skew to account for clock differences between systems."
)
UNAUTHORIZED = (
    "unauthorized_client: Client is unauthorized to retrieve access tokens using this method, or client not "
    "authorized for any of the scopes requested."
)


def refresh(creds):
    creds.refresh(google_auth_httplib2.Request(httplib2.Http()))
    return creds


def refresh_error(creds) -> RefreshError:
    with pytest.raises(RefreshError) as info:
        refresh(creds)
    return info.value


def post_token(base: str, assertion: str) -> tuple[int, dict]:
    body = urllib.parse.urlencode({"assertion": assertion,
                                   "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}).encode()
    req = urllib.request.Request(base + "/token", data=body, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def hand_made_jwt(key: dict, **overrides) -> str:
    signer = crypt.RSASigner.from_service_account_info(key)
    now = int(time.time())
    claims = {"iat": now, "exp": now + 3600, "iss": key["client_email"], "aud": "https://oauth2.googleapis.com/token",
              "scope": CAL, "sub": f"alice@{DOMAIN}"}
    claims.update(overrides)
    return jwt.encode(signer, claims).decode()


def test_service_account_key_shape(world):
    key = world.key
    assert key["type"] == "service_account"
    assert key["client_email"].endswith("@calhub-test.iam.gserviceaccount.com")
    assert key["client_id"].isdigit() and len(key["client_id"]) == 21
    assert key["token_uri"] == world.base + "/token"
    assert key["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert len(key["private_key_id"]) == 40
    for field in ("auth_uri", "auth_provider_x509_cert_url", "client_x509_cert_url", "universe_domain"):
        assert key[field]


def test_token_success_and_request_log(world, ctl):
    before = ctl.get("/requests")["next"]
    creds = refresh(world.creds(scopes=[CAL]))
    assert creds.token.startswith("ya29.")
    assert creds.valid
    log = ctl.get(f"/requests?since={before}")["requests"]
    assert [(r["method"], r["path"], r["subject"], r["status"]) for r in log] == [
        ("POST", "/token", f"alice@{DOMAIN}", 200)]


def test_token_response_fields(world):
    status, body = post_token(world.base, hand_made_jwt(world.key))
    assert status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["scope"] == CAL
    assert body["access_token"]


def test_all_three_audiences_accepted(world):
    for aud in ("https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v4/token",
                "https://accounts.google.com/o/oauth2/token"):
        assert post_token(world.base, hand_made_jwt(world.key, aud=aud))[0] == 200
    status, body = post_token(world.base, hand_made_jwt(world.key, aud="https://example.com/token"))
    assert (status, body["error"]) == (400, "invalid_grant")


def test_unauthorized_client_when_scope_not_delegated(world, ctl):
    ctl.put(f"/tenants/{DOMAIN}/delegation/{world.client_id}",
            {"scopes": ["https://www.googleapis.com/auth/calendar.readonly"]})
    err = refresh_error(world.creds(scopes=[CAL]))
    assert err.args[0] == UNAUTHORIZED
    assert err.args[1]["error"] == "unauthorized_client"
    # a subset of the granted scopes works
    refresh(world.creds(scopes=["https://www.googleapis.com/auth/calendar.readonly"]))
    # all requested scopes must be covered
    err = refresh_error(world.creds(scopes=["https://www.googleapis.com/auth/calendar.readonly", CAL]))
    assert err.args[0] == UNAUTHORIZED


def test_delegation_get_and_revoke(world, ctl):
    grant = ctl.get(f"/tenants/{DOMAIN}/delegation/{world.client_id}")
    assert CAL in grant["scopes"] and grant["updated"].endswith("Z")
    ctl.delete(f"/tenants/{DOMAIN}/delegation/{world.client_id}")
    ctl.get(f"/tenants/{DOMAIN}/delegation/{world.client_id}", expect=404)
    assert refresh_error(world.creds()).args[0] == UNAUTHORIZED


def test_unauthorized_client_status_is_401(world, ctl):
    ctl.delete(f"/tenants/{DOMAIN}/delegation/{world.client_id}")
    status, body = post_token(world.base, hand_made_jwt(world.key))
    assert status == 401
    assert body == {"error": "unauthorized_client", "error_description": UNAUTHORIZED.split(": ", 1)[1]}


def test_bad_signature_after_key_deletion(world, ctl):
    second = ctl.post(f"/service-accounts/{world.client_id}/keys")
    assert second["client_id"] == world.client_id and second["private_key_id"] != world.key["private_key_id"]
    refresh(world.creds())
    ctl.delete(f"/service-accounts/{world.client_id}/keys/{world.key['private_key_id']}")
    err = refresh_error(world.creds())
    assert err.args[0] == "invalid_grant: Invalid JWT Signature."
    refresh(world.creds(key=second))


def test_signature_from_a_foreign_key(world, ctl):
    other = ctl.post("/service-accounts", {"project_id": "other-project"})
    forged = dict(other, client_email=world.key["client_email"], private_key_id=world.key["private_key_id"])
    assert refresh_error(world.creds(key=forged)).args[0] == "invalid_grant: Invalid JWT Signature."


def test_unknown_issuer(world, ctl):
    ctl.delete(f"/service-accounts/{world.client_id}")
    err = refresh_error(world.creds())
    assert err.args[0] == "invalid_grant: Invalid JWT: No valid verifier found for issuer"


def test_unknown_and_deleted_user(world, ctl):
    err = refresh_error(world.creds(subject=f"nobody@{DOMAIN}"))
    assert err.args[0] == "invalid_grant: Invalid email or User ID"
    status, _ = post_token(world.base, hand_made_jwt(world.key, sub=f"nobody@{DOMAIN}"))
    assert status == 400
    ctl.delete(f"/users/bob@{DOMAIN}")
    err = refresh_error(world.creds(subject=f"bob@{DOMAIN}"))
    assert err.args[0] == "invalid_grant: The account has been deleted"


def test_clock_skew_rejected(world, ctl):
    for overrides in ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200},   # issued in the future
                      {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},   # expired
                      {"exp": int(time.time()) + 7200}):                                  # lifetime > 65 min
        status, body = post_token(world.base, hand_made_jwt(world.key, **overrides))
        assert status == 400
        assert f"{body['error']}: {body['error_description']}" == SHORT_LIVED
    # a small skew (2 minutes) is tolerated
    assert post_token(world.base, hand_made_jwt(world.key, iat=int(time.time()) + 120,
                                                exp=int(time.time()) + 3720))[0] == 200
    # the emulator clock drives the check: two hours ahead, the library's fresh JWT looks expired
    ctl.post("/clock", {"advance_seconds": 7200})
    assert refresh_error(world.creds()).args[0] == SHORT_LIVED


def test_empty_scope_and_form_errors(world):
    status, body = post_token(world.base, hand_made_jwt(world.key, scope=""))
    assert (status, body["error"]) == (400, "invalid_scope")
    status, body = post_token(world.base, "not-a-jwt")
    assert (status, body["error"], body["error_description"]) == (400, "invalid_grant", "Invalid JWT Signature.")
    req = urllib.request.Request(world.base + "/token", data=b"assertion=x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req)
    assert info.value.code == 400
    assert json.loads(info.value.read())["error"] == "invalid_request"


def test_token_endpoint_fault_is_retried_by_google_auth(world, ctl):
    ctl.post("/faults", {"method": "POST", "path_regex": "^/token$", "status": 503, "count": 1})
    before = ctl.get("/requests")["next"]
    refresh(world.creds())
    statuses = [r["status"] for r in ctl.get(f"/requests?since={before}")["requests"]]
    assert statuses == [503, 200]
