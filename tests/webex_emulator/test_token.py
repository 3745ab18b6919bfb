"""POST /v1/access_token: the refresh-token grant, its errors, and how tokens expire and get revoked."""

from __future__ import annotations

from .helpers import basic, request


def _grant(world, **form):
    app = world.admin.app
    data = {
        "grant_type": "refresh_token",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "refresh_token": app["refresh_token"],
        **form,
    }
    return request(
        world.base, "POST", "/v1/access_token", form={k: v for k, v in data.items() if v is not None}
    )


def _error(resp) -> str:
    assert set(resp.body) == {"message", "errors", "trackingId"}
    assert resp.body["errors"][0]["description"] == resp.body["message"]
    assert resp.body["trackingId"].startswith("ROUTER_")
    return resp.body["message"]


def test_refresh_grant_returns_a_working_token(world):
    resp = world.admin.refresh()
    assert resp.status == 200
    body = resp.body
    assert set(body) == {
        "access_token",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
        "token_type",
    }
    assert body["expires_in"] == 1209599 and body["token_type"] == "Bearer"
    assert body["refresh_token"] == world.admin.app["refresh_token"]
    assert 7775000 < body["refresh_token_expires_in"] <= 7775999
    assert body["access_token"] != world.admin.token
    listed = request(world.base, "GET", "/v1/meetings?hostEmail=ana@acme.test", token=body["access_token"])
    assert listed.status == 200 and listed.body == {"items": []}


def test_client_credentials_in_a_basic_header(world):
    app = world.admin.app
    resp = request(
        world.base,
        "POST",
        "/v1/access_token",
        form={"grant_type": "refresh_token", "refresh_token": app["refresh_token"]},
        headers={"Authorization": basic(app["client_id"], app["client_secret"])},
    )
    assert resp.status == 200


def test_json_body_is_accepted_too(world):
    app = world.admin.app
    resp = request(
        world.base,
        "POST",
        "/v1/access_token",
        body={
            "grant_type": "refresh_token",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "refresh_token": app["refresh_token"],
        },
    )
    assert resp.status == 200


def test_wrong_secret(world):
    resp = _grant(world, client_secret="0" * 64)
    assert resp.status == 401
    message = _error(resp)
    assert "(invalid_client) Authentication failure" in message
    assert message.startswith("POST failed: HTTP/1.1 401 Unauthorized (url = https://idbroker.webex.com/")


def test_unknown_client(world):
    resp = _grant(world, client_id="Cdeadbeef")
    assert resp.status == 400 and "(invalid_client) The client_id is not valid" in _error(resp)


def test_unknown_refresh_token(world):
    resp = _grant(world, refresh_token="nope")
    assert resp.status == 400 and "(invalid_grant) Invalid refresh token" in _error(resp)


def test_refresh_token_of_another_app(world):
    resp = _grant(world, refresh_token=world.ana.app["refresh_token"])
    assert resp.status == 400 and "invalid_grant" in _error(resp)


def test_missing_parameters_and_unsupported_grant(world):
    assert "(invalid_request) grant_type is missing" in _error(_grant(world, grant_type=""))
    resp = _grant(world, grant_type="client_credentials")
    assert resp.status == 400 and "(unsupported_grant_type)" in _error(resp)
    assert "(invalid_request) refresh_token is missing" in _error(_grant(world, refresh_token=""))
    assert "(invalid_request) client_id is missing" in _error(_grant(world, client_id=""))


def test_token_endpoint_only_takes_post(world):
    resp = request(world.base, "GET", "/v1/access_token")
    assert resp.status == 405


def test_expired_access_token_is_refused_and_refresh_recovers(world):
    assert world.ctl("POST", "/tokens/expire", {"client_id": world.admin.app["client_id"]})["expired"] == 1
    resp = world.admin("GET", "/v1/meetings?hostEmail=ana@acme.test")
    assert resp.status == 401
    fresh = world.admin.refresh().body["access_token"]
    assert world.admin("GET", "/v1/meetings?hostEmail=ana@acme.test", token=fresh).status == 200


def test_tokens_expire_with_the_clock(world):
    world.ctl("PUT", "/config", {"access_token_ttl": 3600})
    token = world.admin.refresh().body
    assert token["expires_in"] == 3600
    world.ctl("POST", "/clock", {"advance_seconds": 3601})
    assert (
        world.admin("GET", "/v1/meetings?hostEmail=ana@acme.test", token=token["access_token"]).status == 401
    )
    world.ctl("POST", "/clock", {"advance_seconds": 90 * 86400})
    resp = world.admin.refresh()
    assert resp.status == 400 and "(invalid_grant) The refresh token provided is expired" in _error(resp)


def test_revoked_tokens(world):
    world.ctl("POST", "/tokens/revoke", {"client_id": world.admin.app["client_id"], "kind": "access"})
    assert world.admin("GET", "/v1/meetings?hostEmail=ana@acme.test").status == 401
    assert world.admin.refresh().status == 200  # the refresh token still works
    world.ctl("POST", "/tokens/revoke", {"client_id": world.admin.app["client_id"]})
    assert "invalid_grant" in _error(world.admin.refresh())
    fresh = world.ctl("POST", f"/service-apps/{world.admin.app['client_id']}/tokens")
    assert (
        world.admin("GET", "/v1/meetings?hostEmail=ana@acme.test", token=fresh["access_token"]).status == 200
    )


def test_revoking_one_token_leaves_the_others(world):
    other = world.admin.refresh().body["access_token"]
    assert world.ctl("POST", "/tokens/revoke", {"token": world.admin.token})["revoked"] == 1
    assert world.admin("GET", "/v1/meetings?hostEmail=ana@acme.test").status == 401
    assert world.admin("GET", "/v1/meetings?hostEmail=ana@acme.test", token=other).status == 200
