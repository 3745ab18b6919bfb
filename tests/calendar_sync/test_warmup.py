from django_q.signals import post_spawn

from calendar_sync.google.gateway import forget_gateways
from controlhub.tenancy.google_connection import deployment_gateway


def test_worker_spawn_prepares_the_gateway_without_calling_google(google, db):
    forget_gateways()
    since = google.requests()["next"]
    post_spawn.send(sender="django_q", proc_name="Process-test")
    gateway = deployment_gateway()
    assert gateway is deployment_gateway()  # built once, shared
    assert getattr(gateway._local, "services", {}).get("calendar") is not None
    assert google.requests(since)["requests"] == []


def test_own_key_is_parsed_once(google, org, db):
    from controlhub.onboarding.services import own_key_upload
    from controlhub.tenancy.google_connection import org_service_account_key

    own_key_upload(organization=org, data=google.key_file.read_bytes())
    org.refresh_from_db()
    assert org_service_account_key(org) is org_service_account_key(org)
