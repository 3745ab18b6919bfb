"""The one backoff policy: the gateway, the sync engine and activation differ only in their numbers."""

from calendar_sync.google.backoff import Backoff
from calendar_sync.google.gateway import RetryPolicy
from calendar_sync.sync.sources import FAILING_BACKOFF, RETRY_BACKOFF
from controlhub.people.activation import VALIDATION_BACKOFF


def test_exponential_capped_and_jittered_between_half_and_full():
    policy = Backoff(base=1, cap=8)
    for attempt in range(1, 10):
        full = min(8, 2 ** (attempt - 1))
        assert 0.5 * full <= policy.delay(attempt) <= full


def test_retry_after_wins_capped_and_floored_and_a_date_falls_back():
    assert Backoff(base=1, cap=8).delay(1, "30") == 8
    assert Backoff(base=1, cap=8, floor=1.0).delay(3, "0") == 1.0
    assert 0.5 <= Backoff(base=1, cap=8).delay(1, "Wed, 21 Oct 2026 07:28:00 GMT") <= 1


def test_the_three_users_share_it():
    assert isinstance(RetryPolicy(), Backoff)
    assert [VALIDATION_BACKOFF.delay(n) for n in (1, 2, 3, 10)] == [60, 120, 240, 3600]
    assert 1 <= RETRY_BACKOFF.delay(1) <= 2 and RETRY_BACKOFF.delay(2, "120") == 120
    assert RETRY_BACKOFF.delay(30) <= 300 and RETRY_BACKOFF.delay(2, "9999") == 300
    assert 30 <= FAILING_BACKOFF.delay(1) <= 60 and FAILING_BACKOFF.delay(30) <= 900
