"""Content-Security-Policy on every response, and the sign-in pages written so they render under it."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "object-src": "'none'",
}


def directives(response):
    header = response["Content-Security-Policy"]
    parsed = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        parsed[name] = value
    return parsed


def assert_policy(response):
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert directives(response) == POLICY


def test_sign_in_pages(client):
    for url in (reverse("login"), reverse("signin_link"), "/accounts/link/s/MQ/bad-token/"):
        assert_policy(client.get(url))
    assert_policy(client.post(reverse("login"), {"username": "x@acme.test", "password": "nope"}))


def test_admin_pages(admin_client):
    for name in ("dashboard", "onboarding", "domains", "people"):
        response = admin_client.get(reverse(name))
        assert response.status_code == 200
        assert_policy(response)


def test_meetings_and_the_device_api(client, plain_user):
    response = client.get(reverse("api_meetings"), HTTP_AUTHORIZATION="Bearer not-a-device-token")
    assert response.status_code == 401 and response["Content-Type"] == "application/json"
    assert_policy(response)

    client.force_login(plain_user)
    response = client.get(reverse("meetings"))
    assert response.status_code == 200
    assert_policy(response)
    response = client.get(reverse("api_meetings"))  # the same JSON, for the signed-in session
    assert response["Content-Type"] == "application/json"
    assert_policy(response)


def test_errors_redirects_and_static_files(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_policy(response)
    assert_policy(client.get(reverse("dashboard")))  # the redirect to sign in
    response = client.get("/static/css/auth.css")
    assert response.status_code == 200
    assert_policy(response)
    assert_policy(client.get(reverse("healthz")))


SIGN_IN_TEMPLATES = sorted((settings.BASE_DIR / "templates" / "registration").glob("*.html"))


@pytest.mark.parametrize("path", SIGN_IN_TEMPLATES, ids=lambda p: p.name)
def test_sign_in_templates_have_no_inline_styles_or_scripts(path):
    source = path.read_text()
    assert not re.search(r"\sstyle\s*=", source), "inline style attribute: use a class in static/css/auth.css"
    assert not re.search(r"\son[a-z]+\s*=", source), "inline event handler: use a static script"
    assert not re.search(r"<style\b", source)
    assert not re.search(r"<script(?![^>]*\ssrc=)", source), "inline script"
    assert "css/auth.css" in source


def test_the_header_follows_the_setting(client, settings):
    """The header is built once per policy setting, not once per response: a changed setting is seen."""
    assert_policy(client.get(reverse("login")))
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
                                                       "img-src": ["'self'"]}}
    assert directives(client.get(reverse("login")))["img-src"] == "'self'"


def test_per_view_changes_and_nonces_are_left_to_django_csp(rf, settings):
    from csp.constants import NONCE, SELF
    from csp.decorators import csp_update
    from django.http import HttpResponse

    from controlhub.security_headers import StaticPolicyCSPMiddleware

    view = csp_update({"img-src": "https://maps.example"})(lambda request: HttpResponse())
    middleware = StaticPolicyCSPMiddleware(view)
    request = rf.get("/")
    assert "img-src 'self' data: https://maps.example" in middleware(request)["Content-Security-Policy"]

    def uses_nonce(request):
        return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": [SELF, NONCE]}}
    request = rf.get("/")
    response = StaticPolicyCSPMiddleware(uses_nonce)(request)
    assert f"'nonce-{request.csp_nonce}'" in response["Content-Security-Policy"]
