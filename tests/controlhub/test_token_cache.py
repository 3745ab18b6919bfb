"""Delegated tokens shared between processes through the cache: a second process's gateway asks Google for none,
the cache never holds a token in the clear, and anything unreadable there is a miss, never an error."""

import pytest
from django.core.cache import caches

from calendar_sync.google import errors
from calendar_sync.google.gateway import SCOPE_CALENDAR, Gateway, RetryPolicy, use_token_store
from calendar_sync.google.keys import parse_service_account_key
from controlhub.tenancy.token_cache import PREFIX, SharedTokenCache

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(google_tenant):
    """The shared store, with no entry of this tenant's subjects before or after (the cache outlives a test)."""
    def forget():
        gateway = _process(google_tenant)
        caches["default"].delete_many([PREFIX + gateway._token_key(subject, [SCOPE_CALENDAR])
                                       for subject in ("ana@acme.test", "bo@acme.test")])

    forget()
    shared = use_token_store(SharedTokenCache())
    yield shared
    use_token_store(None)
    forget()


def _process(google):
    """A gateway as a fresh worker process builds it: same key, nothing cached in memory."""
    return Gateway(parse_service_account_key(google.key), endpoint=google.base_url, timeout=5,
                   retry=RetryPolicy(max_attempts=1, base=0.01, cap=0.05))


def _token_requests(google, since):
    return [r for r in google.requests(since)["requests"] if r["path"] == "/token"]


def test_a_second_process_uses_the_token_the_first_minted(google_tenant, store):
    since = google_tenant.requests()["next"]
    first, second = _process(google_tenant), _process(google_tenant)
    first.events_list("ana@acme.test", maxResults=5)
    second.events_list("ana@acme.test", maxResults=5)
    second.calendar_setting("ana@acme.test", "timezone")
    _process(google_tenant).events_list("bo@acme.test", maxResults=5)
    assert sorted(r["subject"] for r in _token_requests(google_tenant, since)) == ["ana@acme.test", "bo@acme.test"]
    assert second.fetch_token("ana@acme.test", [SCOPE_CALENDAR]) == first.fetch_token("ana@acme.test",
                                                                                      [SCOPE_CALENDAR])


def test_the_cache_holds_tokens_encrypted_and_bound_to_their_entry(google_tenant, store):
    gateway = _process(google_tenant)
    token = gateway.fetch_token("ana@acme.test", [SCOPE_CALENDAR])
    key = gateway._token_key("ana@acme.test", [SCOPE_CALENDAR])
    other = gateway._token_key("bo@acme.test", [SCOPE_CALENDAR])
    blob = caches["default"].get(PREFIX + key)
    assert isinstance(blob, bytes) and token.encode() not in blob
    assert store.get(key)[0] == token
    caches["default"].set(PREFIX + other, blob)  # moved to another subject's entry: does not decrypt there
    assert store.get(other) is None
    caches["default"].set(PREFIX + key, b"garbage")
    assert store.get(key) is None


def test_an_unreadable_entry_is_a_miss_and_a_failed_fresh_token_drops_the_shared_one(google_tenant, store):
    gateway = _process(google_tenant)
    key = gateway._token_key("ana@acme.test", [SCOPE_CALENDAR])
    caches["default"].set(PREFIX + key, b"not a token")
    since = google_tenant.requests()["next"]
    _process(google_tenant).events_list("ana@acme.test", maxResults=5)  # minted, not failed
    assert len(_token_requests(google_tenant, since)) == 1 and store.get(key) is not None
    google_tenant.revoke("acme.test", google_tenant.client_id)
    with pytest.raises(errors.DelegationNotAuthorized):
        gateway.fetch_token("ana@acme.test", [SCOPE_CALENDAR], fresh=True)
    assert store.get(key) is None  # no other process picks up a token Google no longer honours
