import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from controlhub.people.models import Person
from controlhub.tenancy.models import Membership
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "-production-like-secret-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "calendar.example.com",
    "PUBLIC_BASE_URL": "https://calendar.example.com",
    "ENCRYPTION_KEYS": "prod1:cHJvZC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmchISE=",
    "DATABASE_URL": "sqlite:////tmp/calendarhub-deploy-check.sqlite3",
}


TEST_ONLY_ENV = {
    "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ENCRYPTION_KEYS", "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT", "PUBLIC_BASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG",
}


def clean_env():
    return {k: v for k, v in os.environ.items() if k not in TEST_ONLY_ENV}


def run_settings(env_overrides, code):
    env = clean_env()
    env.update({"DJANGO_SETTINGS_MODULE": "controlhub.settings", **env_overrides})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings as s; " + code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_settings_default_is_sqlite_with_wal_and_orm_broker():
    out = run_settings(
        {"DEBUG": "1"},
        "import json; d=s.DATABASES['default']; print(json.dumps([d['ENGINE'], d['OPTIONS'], s.Q_CLUSTER.get('orm'),"
        " 'redis' in s.Q_CLUSTER, s.CACHES['default']['BACKEND']]))",
    )
    assert out.returncode == 0, out.stderr
    engine, options, orm, has_redis, cache = json.loads(out.stdout.strip().splitlines()[-1])
    assert engine == "django.db.backends.sqlite3"
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
    assert options["timeout"] >= 5
    assert orm == "default" and has_redis is False
    assert cache == "django.core.cache.backends.db.DatabaseCache"


def test_settings_postgres_and_redis_from_environment():
    out = run_settings(
        {"DEBUG": "1", "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/hub", "REDIS_URL": "redis://127.0.0.1:6379/3"},
        "import json; d=s.DATABASES['default']; print(json.dumps([d['ENGINE'], d['NAME'], d['HOST'],"
        " s.Q_CLUSTER.get('redis'), 'orm' in s.Q_CLUSTER, s.CACHES['default']['BACKEND']]))",
    )
    assert out.returncode == 0, out.stderr
    engine, name, host, redis_url, has_orm, cache = json.loads(out.stdout.strip().splitlines()[-1])
    assert engine == "django.db.backends.postgresql" and name == "hub" and host == "127.0.0.1"
    assert redis_url == "redis://127.0.0.1:6379/3" and has_orm is False
    assert cache == "django.core.cache.backends.redis.RedisCache"


def test_q_cluster_timeout_shorter_than_retry_and_no_catch_up():
    out = run_settings({"DEBUG": "1"}, "import json; print(json.dumps(s.Q_CLUSTER))")
    conf = json.loads(out.stdout.strip().splitlines()[-1])
    assert conf["timeout"] < conf["retry"]
    assert conf["catch_up"] is False and conf["ack_failures"] is True and conf["max_attempts"] >= 1


def test_settings_refuse_to_start_without_secret_key_in_production():
    env = dict(PRODUCTION_ENV)
    env["SECRET_KEY"] = ""
    out = run_settings({k: v for k, v in env.items() if k != "SECRET_KEY"}, "print(s.SECRET_KEY)")
    assert out.returncode != 0
    assert "SECRET_KEY" in out.stderr


def test_check_deploy_is_clean_with_production_environment():
    env = clean_env()
    env.update(PRODUCTION_ENV)
    env["DJANGO_SETTINGS_MODULE"] = "controlhub.settings"
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_healthz_reports_database_and_queue(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok" and body["checks"]["queue"] == "ok"


def test_sign_in_with_email_lands_on_dashboard(client, admin_user):
    response = client.post(reverse("login"), {"username": "ADMIN@acme.test", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard")
    assert b"Acme" in response.content


def test_wrong_password_is_refused_with_a_message(client, admin_user):
    response = client.post(reverse("login"), {"username": "admin@acme.test", "password": "nope"})
    assert response.status_code == 200
    assert b"The email (or username) and password do not match." in response.content


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_plain_user_cannot_open_admin_pages(client, plain_user):
    client.force_login(plain_user)
    assert client.get(reverse("dashboard")).status_code == 403


def test_readonly_admin_sees_dashboard_but_cannot_post(client, readonly_admin):
    client.force_login(readonly_admin)
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.post(reverse("dashboard")).status_code == 403


def test_dashboard_counts_only_own_organization(client, make_org):
    org_a, admin_a = make_org("Alpha")
    org_b, _ = make_org("Beta")
    Person.objects.create(organization=org_a, email="a1@alpha.test", calendar_state="error")
    for i in range(3):
        Person.objects.create(organization=org_b, email=f"b{i}@beta.test", calendar_state="error")
    client.force_login(admin_a)
    response = client.get(reverse("dashboard"))
    assert response.context["people_total"] == 1
    assert response.context["error_count"] == 1
    assert "There is 1 user with activation errors." in response.content.decode()


def test_createorg_command_prints_what_it_did(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("createorg", "Example Corp", "Boss@Example.com", "--password", "s3cret-pass", stdout=out)
    text = out.getvalue()
    assert "Created organization 'Example Corp'" in text and "boss@example.com" in text
    membership = Membership.objects.get(user__email="boss@example.com")
    assert membership.role == Membership.Role.FULL_ADMIN and membership.organization.slug == "example-corp"


def test_install_schedules_is_idempotent(db):
    from io import StringIO

    from django.core.management import call_command
    from django_q.models import Schedule

    call_command("install_schedules", stdout=StringIO())
    first = set(Schedule.objects.values_list("name", flat=True))
    call_command("install_schedules", stdout=StringIO())
    assert set(Schedule.objects.values_list("name", flat=True)) == first
    assert Schedule.objects.count() == len(first) > 0


@pytest.mark.parametrize("lang,text", [("fr", "Tableau de bord"), ("ko", "대시보드")])
def test_ui_speaks_french_and_korean(client, admin_user, lang, text):
    client.force_login(admin_user)
    response = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE=lang)
    assert text in response.content.decode()


@pytest.mark.parametrize("value,expected", [("", "ENCRYPTION_KEYS is not set"), ("k1:c2hvcnQ=", "malformed")])
def test_checks_refuse_missing_or_malformed_encryption_keys(value, expected):
    env = clean_env()
    env.update({**PRODUCTION_ENV, "ENCRYPTION_KEYS": value, "DJANGO_SETTINGS_MODULE": "controlhub.settings"})
    out = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0
    assert expected in out.stdout + out.stderr


def test_error_pages_are_ours_and_explain(client, plain_user, settings):
    settings.DEBUG = False
    client.force_login(plain_user)
    forbidden = client.get(reverse("dashboard"))
    assert forbidden.status_code == 403
    assert "Only organization admins can open this page." in forbidden.content.decode()
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and "belongs to another organization" in missing.content.decode()
