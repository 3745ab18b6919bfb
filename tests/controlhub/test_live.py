"""Live updates (controlhub.tenancy.live): publishing after commit, signed topics, who may follow what, and the
Server-Sent Events stream served by the real ASGI server (uvicorn) on both backends."""

import http.client
import os
import time
import urllib.parse

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import Client

from controlhub.people.models import Person
from controlhub.tenancy import live
from controlhub.tenancy.models import LiveTopic, Membership
from controlhub.tenancy.orgs import membership_set
from controlhub.views.live import authorize
from tests.calendar_sync.test_meetings_support import make_person, make_source
from tests.conftest import PASSWORD

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5"


def redis_reachable():
    import redis

    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(params=["database", "redis"])
def backend(request, settings):
    """Each stream test runs on both deployments' backends."""
    if request.param == "redis":
        if not redis_reachable():
            pytest.skip(f"no Redis at {REDIS_URL}")
        settings.REDIS_URL = REDIS_URL
    else:
        settings.REDIS_URL = ""
    assert live.backend().name == request.param
    return request.param


def versions():
    return dict(LiveTopic.objects.values_list("topic", "version"))


# --- publishing --------------------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_publish_waits_for_the_commit_and_sends_each_topic_once(settings):
    settings.REDIS_URL = ""
    with transaction.atomic():
        live.publish("person:1", "org:1:people")
        live.publish("person:1")
        assert versions() == {}  # nothing before the commit
    assert versions() == {"person:1": 1, "org:1:people": 1}
    live.publish("person:1")  # outside a transaction: at once
    assert versions() == {"person:1": 2, "org:1:people": 1}
    first = LiveTopic.objects.get(topic="person:1").changed_ms
    assert abs(first - live.now_ms()) < 5000  # the database's clock, in ms


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_publishes_nothing_then(settings):
    settings.REDIS_URL = ""
    with pytest.raises(RuntimeError), transaction.atomic():
        live.publish("job:7")
        raise RuntimeError("rolled back")
    assert versions() == {}


@pytest.mark.django_db(transaction=True)
def test_publishing_survives_an_unreachable_redis(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    live.publish("person:3")  # logged, not raised: the work that changed the person must not fail
    assert "could not publish" in caplog.text


# --- tokens and authorization ---------------------------------------------------------------------------------------
def test_a_token_names_its_viewer_and_organization(org, admin_user):
    token = live.token_make(user_id=admin_user.pk, organization_id=org.pk, topics=[f"org:{org.pk}:setup"])
    payload = live.token_read(token, user_id=admin_user.pk)
    assert payload["t"] == [f"org:{org.pk}:setup"] and payload["o"] == org.pk
    with pytest.raises(live.LiveTokenInvalid, match="another viewer"):
        live.token_read(token, user_id=admin_user.pk + 1)
    with pytest.raises(live.LiveTokenInvalid, match="bad or expired"):
        live.token_read(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), user_id=admin_user.pk)
    with pytest.raises(live.LiveTokenInvalid, match="not a live topic"):
        live.token_make(user_id=admin_user.pk, organization_id=org.pk, topics=["meetings:everyone"])


def test_a_token_cannot_name_another_organizations_topic(org, admin_user):
    forged = live.signing.dumps({"u": admin_user.pk, "o": org.pk, "t": [f"org:{org.pk + 1}:people"], "s": 0},
                                salt=live.SALT, compress=True)
    with pytest.raises(live.LiveTokenInvalid, match="another organization"):
        live.token_read(forged, user_id=admin_user.pk)


def test_who_may_follow_what(org, admin_user, plain_user, make_org):
    mine = make_person(org, plain_user.email, user=plain_user)
    my_source = make_source(mine)
    other = make_person(org, "other@acme.test")
    other_source = make_source(other)

    def token(user, *topics, organization=org):
        return live.token_make(user_id=user.pk, organization_id=organization.pk, topics=topics)

    topics, _ = authorize(plain_user, [token(plain_user, f"source:{my_source.pk}", f"person:{mine.pk}")])
    assert topics == sorted([f"source:{my_source.pk}", f"person:{mine.pk}"])
    for refused in (f"source:{other_source.pk}", f"person:{other.pk}", f"org:{org.pk}:people"):
        with pytest.raises(PermissionDenied):
            authorize(plain_user, [token(plain_user, refused)])
    # An admin follows anything of the organization, nothing of another one.
    assert authorize(admin_user, [token(admin_user, f"person:{other.pk}", f"org:{org.pk}:setup")])[0]
    globex, globex_admin = make_org("Globex")
    stranger = make_person(globex, "x@globex.test")
    with pytest.raises(PermissionDenied, match="another organization"):
        authorize(admin_user, [token(admin_user, f"person:{stranger.pk}")])
    # Membership is checked again at every connect: a token outlives a removed member, the stream does not.
    kept = token(plain_user, f"person:{mine.pk}")
    Membership.objects.filter(user=plain_user).delete()
    with pytest.raises(PermissionDenied, match="not a member"):
        authorize(plain_user, [kept])
    # A token made for one organization is refused once the viewer belongs to another.
    membership_set(organization=globex, email=plain_user.email, role=Membership.Role.USER, password=PASSWORD)
    with pytest.raises(PermissionDenied, match="not a member of that organization"):
        authorize(plain_user, [kept])


def test_pages_embed_their_signed_topics(admin_client, org):
    person = Person.objects.create(organization=org, email="ana@acme.test", calendar_state="pending")
    html = admin_client.get(f"/people/{person.pk}/").content.decode()
    assert f'data-live-topics="person:{person.pk}"' in html and "data-live-token=" in html
    assert 'data-live-src="/live/events"' in html
    onboarding = admin_client.get("/onboarding/").content.decode()
    assert f'data-live-topics="org:{org.pk}:setup"' in onboarding


# --- the stream -------------------------------------------------------------------------------------------------------
class Stream:
    """A plain Server-Sent Events client on a real socket."""

    def __init__(self, server, session, tokens, *, last_event_id=None):
        query = urllib.parse.urlencode([("t", t) for t in tokens])
        headers = {"Cookie": f"sessionid={session}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        self.conn.request("GET", f"/live/events?{query}", headers=headers)
        self.resp = self.conn.getresponse()
        self.last_id = None

    def next(self, timeout=5.0):
        """The next dispatched message as a dict (``event``, ``data``, ``id``, ``comment``)."""
        self.conn.sock.settimeout(timeout)
        message = {}
        while True:
            try:
                line = self.resp.fp.readline().decode()
            except TimeoutError:
                raise AssertionError(f"no message within {timeout}s") from None
            if line == "":
                raise AssertionError("the stream ended")
            line = line.rstrip("\n")
            if not line:
                if "id" in message:
                    self.last_id = message["id"]
                return message
            field, _, value = line.partition(":")
            message[field or "comment"] = value.lstrip(" ")

    def next_change(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(max(0.1, deadline - time.monotonic()))
            if message.get("event") == "change":
                return message

    def close(self):
        self.conn.close()


def session_of(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_a_change_reaches_an_open_stream_and_a_missed_one_is_replayed(backend, asgi_server, org, admin_user):
    person = Person.objects.create(organization=org, email="ana@acme.test", calendar_state="pending")
    topic = f"person:{person.pk}"
    token = live.token_make(user_id=admin_user.pk, organization_id=org.pk, topics=[topic, f"org:{org.pk}:people"])
    stream = Stream(asgi_server, session_of(admin_user), [token])
    assert stream.resp.status == 200 and stream.resp.getheader("Content-Type") == "text/event-stream"
    hello = stream.next()
    assert hello["retry"] == str(live.RETRY_MS) and int(hello["id"]) > 0
    started = time.monotonic()
    with transaction.atomic():
        live.publish(topic)
    change = stream.next_change()
    assert change["data"] == topic and time.monotonic() - started < 1.0
    stream.close()

    # A change while no stream is open is replayed by the next one, which resumes from Last-Event-ID.
    live.publish(f"org:{org.pk}:people")
    again = Stream(asgi_server, session_of(admin_user), [token], last_event_id=stream.last_id)
    assert again.next_change()["data"] == f"org:{org.pk}:people"
    again.close()


def test_the_stream_refuses_what_the_viewer_may_not_follow(asgi_server, org, admin_user, plain_user):
    person = Person.objects.create(organization=org, email="ana@acme.test")
    admin_token = live.token_make(user_id=admin_user.pk, organization_id=org.pk, topics=[f"person:{person.pk}"])
    own = live.token_make(user_id=plain_user.pk, organization_id=org.pk, topics=[f"person:{person.pk}"])

    def status(session, tokens):
        stream = Stream(asgi_server, session, tokens)
        try:
            return stream.resp.status, stream.resp.read().decode()
        finally:
            stream.close()

    assert status("", [admin_token])[0] == 403  # signed out
    assert status(session_of(plain_user), [admin_token]) == (400, "live token of another viewer.")
    assert status(session_of(plain_user), [own]) == (403, "only your own calendar.")
    assert status(session_of(admin_user), ["garbage"]) == (400, "bad or expired live token.")
    assert status(session_of(admin_user), [])[0] == 400


def test_a_wsgi_server_answers_no_content_so_pages_poll(live_server, org, admin_user):
    token = live.token_make(user_id=admin_user.pk, organization_id=org.pk, topics=[f"org:{org.pk}:setup"])
    port = int(live_server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", f"/live/events?t={token}", headers={"Cookie": f"sessionid={session_of(admin_user)}"})
    assert conn.getresponse().status == 204
    conn.close()
