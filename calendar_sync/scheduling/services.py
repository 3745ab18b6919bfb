"""The organization's meeting service: its settings (secrets encrypted with the org's data key), the backend
keywords use (``meeting_site_for``), each person's own Webex site, the self-hosted hosts the Join button
recognises, and the Test button.
"""

import json
import logging
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calendar_sync.encryption.aad import aad
from calendar_sync.google import errors as gerrors
from calendar_sync.scheduling.meeting_services.base import NoMeetingSite
from calendar_sync.scheduling.meeting_services.bigbluebutton import BigBlueButtonSite
from calendar_sync.scheduling.meeting_services.errors import (
    MeetingServiceError,
    NotConfigured,
    error_info,
)
from calendar_sync.scheduling.meeting_services.jitsi import JitsiMeetingSite, jitsi_base
from calendar_sync.scheduling.meeting_services.local import LocalMeetingSite
from calendar_sync.scheduling.meeting_services.webex import TokenStore, WebexClient, WebexMeetingSite
from calendar_sync.scheduling.models import HostSite, MeetingService
from controlhub.tenancy.google_connection import org_gateway
from controlhub.tenancy.keys import org_cipher, org_cipher_for
from controlhub.tenancy.orgs import audit_record

logger = logging.getLogger(__name__)

HOST_SITE_TTL = timedelta(hours=12)
Kind = MeetingService.Kind
_SITE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}\.[A-Za-z][A-Za-z0-9_]{0,63}$")


# --- settings -------------------------------------------------------------------------------------------------
def _aad(organization, column):
    return aad(MeetingService, column, organization.pk)


def meeting_service_of(organization):
    """The org's MeetingService row, or an unsaved one of the deployment's default kind."""
    service = MeetingService.objects.filter(organization=organization).first()
    if service is None:
        default = settings.MEETING_SERVICE_DEFAULT
        service = MeetingService(organization=organization, kind=default if default in Kind.values else Kind.NONE)
        service.default_kind = default
    return service


def site_url_normalize(value):
    """``acme.webex.com`` from what an admin or a directory record holds (``https://acme.webex.com/``…)."""
    text = (value or "").strip().lower()
    text = re.sub(r"^https?://", "", text).split("/", 1)[0]
    if not text:
        return ""
    if not _SITE.match(text):
        raise ValueError(f"not a site address: {value!r}")
    return text


def site_field_parts(value):
    """(schema, field) of "Schema.field"; ValueError when it is not one."""
    text = (value or "").strip()
    if not _FIELD.match(text):
        raise ValueError("expected SchemaName.fieldName")
    return tuple(text.split(".", 1))


def _decrypt(organization, blob, column):
    if not blob:
        return ""
    blob = bytes(blob)
    return org_cipher_for(organization, blob).decrypt(blob, aad=_aad(organization, column)) or ""


def _encrypt(organization, text, column):
    return org_cipher(organization).encrypt(text, aad=_aad(organization, column)) if text else None


def webex_secrets(service):
    raw = _decrypt(service.organization, service.webex_secrets_enc, "webex_secrets")
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {}
    return {"client_secret": str(data.get("client_secret", "")), "refresh_token": str(data.get("refresh_token", ""))}


def secret_of(service, name):
    """Whether a secret is stored (the form shows "stored", never the value)."""
    return {
        "webex_client_secret": bool(webex_secrets(service)["client_secret"]),
        "webex_refresh_token": bool(webex_secrets(service)["refresh_token"]),
        "jitsi_secret": bool(service.jitsi_secret_enc),
        "bbb_secret": bool(service.bbb_secret_enc),
    }[name]


@transaction.atomic
def meeting_service_save(*, organization, values, actor=None):
    """Store the Meeting service page's settings. ``values``: the form's cleaned data; an empty secret keeps
    the stored one. Returns the row."""
    service = MeetingService.objects.select_for_update().filter(organization=organization).first()
    if service is None:
        service = MeetingService(organization=organization)
    before = service.kind if service.pk else ""
    service.kind = values["kind"]
    for name in ("webex_site_url", "webex_client_id", "webex_site_field", "directory_admin_email", "jitsi_host",
                 "jitsi_app_id", "bbb_api_url", "bbb_algorithm"):
        if name in values:
            setattr(service, name, values[name] or ("sha256" if name == "bbb_algorithm" else ""))
    stored = webex_secrets(service) if service.pk else {"client_secret": "", "refresh_token": ""}
    secret, refresh = values.get("webex_client_secret") or "", values.get("webex_refresh_token") or ""
    if secret or refresh:
        new = {"client_secret": secret or stored["client_secret"], "refresh_token": refresh or stored["refresh_token"]}
        service.webex_secrets_enc = _encrypt(organization, json.dumps(new), "webex_secrets")
        service.webex_token_enc, service.webex_token_expires_at = None, None  # a new app: a new token
        _tokens_forget(organization.pk)
    if values.get("jitsi_secret"):
        service.jitsi_secret_enc = _encrypt(organization, values["jitsi_secret"], "jitsi_secret")
    if values.get("bbb_secret"):
        service.bbb_secret_enc = _encrypt(organization, values["bbb_secret"], "bbb_secret")
    service.updated_at = timezone.now()
    service.save()
    HostSite.objects.filter(organization=organization).delete()  # the site field may have changed: read again
    audit_record(organization=organization, actor=actor, action="meeting_service.update", target=service,
                 detail={"kind": service.kind, "was": before})
    return service


# --- Webex tokens ---------------------------------------------------------------------------------------------
_tokens_lock = threading.Lock()
_tokens = {}  # org id -> (token blob, access token)


def _tokens_forget(org_id):
    with _tokens_lock:
        _tokens.pop(org_id, None)


class ServiceTokens(TokenStore):
    """A service app's access token kept on its MeetingService row (encrypted), so workers share it."""

    def __init__(self, service):
        self.service = service
        blob = bytes(service.webex_token_enc) if service.webex_token_enc else b""
        token = ""
        if blob:
            with _tokens_lock:
                cached = _tokens.get(service.organization_id)
            if cached and cached[0] == blob:
                token = cached[1]
            else:
                token = _decrypt(service.organization, blob, "webex_token")
                with _tokens_lock:
                    _tokens[service.organization_id] = (blob, token)
        super().__init__(token, service.webex_token_expires_at)

    def save(self, *, access_token, expires_at, refresh_token, refresh_expires_at):
        super().save(access_token=access_token, expires_at=expires_at, refresh_token=refresh_token,
                     refresh_expires_at=refresh_expires_at)
        service, org = self.service, self.service.organization
        blob = _encrypt(org, access_token, "webex_token")
        changes = {"webex_token_enc": blob, "webex_token_expires_at": expires_at}
        if refresh_expires_at:
            changes["webex_refresh_expires_at"] = refresh_expires_at
        secrets = webex_secrets(service)
        if refresh_token and refresh_token != secrets["refresh_token"]:
            changes["webex_secrets_enc"] = _encrypt(org, json.dumps({**secrets, "refresh_token": refresh_token}),
                                                    "webex_secrets")
        if service.pk:
            MeetingService.objects.filter(pk=service.pk).update(**changes)
        for name, value in changes.items():
            setattr(service, name, value)
        with _tokens_lock:
            _tokens[org.pk] = (bytes(blob), access_token)


def webex_client(service):
    secrets = webex_secrets(service)
    return WebexClient(
        api_base=settings.WEBEX_API_BASE, client_id=service.webex_client_id, client_secret=secrets["client_secret"],
        refresh_token=secrets["refresh_token"], tokens=ServiceTokens(service), timeout=settings.WEBEX_HTTP_TIMEOUT,
        max_retry_wait=settings.WEBEX_MAX_RETRY_WAIT,
    )


# --- a person's own Webex site ----------------------------------------------------------------------------------
def _field_value(record, schema, name):
    value = ((record.get("customSchemas") or {}).get(schema) or {}).get(name)
    if isinstance(value, list):  # a multi-valued field: [{"value": …, "type": …}]
        value = next((v.get("value") for v in value if isinstance(v, dict) and v.get("value")), "")
    return str(value or "")


def webex_host_site(service, email, *, refresh=False, gateway=None):
    """The Webex site named in ``email``'s Google directory record (``service.webex_site_field``), or '' when
    none is (the org's default site applies). Read through the Directory API at most every HOST_SITE_TTL."""
    if not service.webex_site_field or not service.directory_admin_email:
        return ""
    organization = service.organization
    email = email.strip().lower()
    row = HostSite.objects.filter(organization=organization, email=email).first()
    if row is not None and not refresh and row.checked_at > timezone.now() - HOST_SITE_TTL:
        return row.site_url
    try:
        schema, name = site_field_parts(service.webex_site_field)
    except ValueError:
        return ""
    site, code = (row.site_url if row else ""), ""
    try:
        record = (gateway or org_gateway(organization)).directory_user(
            service.directory_admin_email, email, custom_schema=schema)
        site = site_url_normalize(_field_value(record, schema, name))
    except gerrors.GoogleError as exc:
        code = exc.error_code
        logger.warning("webex site of a host of org %s: %s", organization.pk, code)
    except ValueError:
        code, site = "invalid_site_url", ""
    HostSite.objects.update_or_create(organization=organization, email=email,
                                      defaults={"site_url": site, "checked_at": timezone.now(), "error_code": code})
    return site


def webex_site_shown(organization, email):
    """(site, where it comes from) for a person's page, from what was last read (never a Google call)."""
    service = meeting_service_of(organization)
    if service.kind != Kind.WEBEX:
        return "", ""
    row = HostSite.objects.filter(organization=organization, email=email.strip().lower()).first()
    if row is not None and row.site_url:
        return row.site_url, "directory"
    return service.webex_site_url, "default"


# --- the backend keywords use ---------------------------------------------------------------------------------
class BrokenSite(NoMeetingSite):
    """A backend whose settings are incomplete: every call names what is missing."""

    creates_meetings = True

    def __init__(self, kind, error):
        self.kind = kind
        self.error = error

    def _fail(self, **kwargs):
        raise self.error

    meeting_create = personal_room = meeting_find = meeting_update = meeting_release = _fail


def _build(service, kind):
    organization = service.organization
    if kind == "local":
        return LocalMeetingSite(organization.meeting_site_host)
    if kind == Kind.WEBEX:
        if not service.webex_site_url:
            raise NotConfigured("no Webex site")
        return WebexMeetingSite(webex_client(service), default_site=service.webex_site_url,
                                site_for=lambda email: webex_host_site(service, email))
    if kind == Kind.JITSI:
        return JitsiMeetingSite(service.jitsi_host, app_id=service.jitsi_app_id,
                                secret=_decrypt(organization, service.jitsi_secret_enc, "jitsi_secret"))
    if kind == Kind.BIGBLUEBUTTON:
        if not service.bbb_api_url:
            raise NotConfigured("no BigBlueButton API URL")
        return BigBlueButtonSite(service.bbb_api_url, _decrypt(organization, service.bbb_secret_enc, "bbb_secret"),
                                 algorithm=service.bbb_algorithm or "sha256", timeout=settings.WEBEX_HTTP_TIMEOUT)
    return NoMeetingSite()


def site_for_kind(organization, kind, *, service=None):
    """The backend of ``kind`` with the org's settings (meetings made earlier are released where they were made,
    whatever the org uses now). Never raises: incomplete settings give a site whose calls say so."""
    service = service or meeting_service_of(organization)
    try:
        return _build(service, kind)
    except MeetingServiceError as exc:
        return BrokenSite(kind, exc)


def _kind_in_use(service):
    return getattr(service, "default_kind", None) or service.kind


def meeting_site_for(organization):
    """The backend ``@webex``/``@meet`` use now for ``organization``."""
    service = meeting_service_of(organization)
    return site_for_kind(organization, _kind_in_use(service), service=service)


def keywords_on(organization):
    """Whether ``@webex``/``@meet`` are answered: the org's meeting service (or the deployment's default) is not
    "none"."""
    return _kind_in_use(meeting_service_of(organization)) != MeetingService.Kind.NONE


_SERVICE_HOSTS_SQL = {}


def _service_hosts_row(organization_id):
    """(jitsi_host, bbb_api_url) of the org's meeting service, or None. Asked by every sync page, so one plain
    statement built once per connection (the ORM spent about 1 ms building and compiling it each time)."""
    connection = connections[router.db_for_read(MeetingService)]
    sql = _SERVICE_HOSTS_SQL.get(connection.alias)
    if sql is None:
        qn = connection.ops.quote_name
        opts = MeetingService._meta
        sql = _SERVICE_HOSTS_SQL[connection.alias] = (
            f"SELECT {qn(opts.get_field('jitsi_host').column)}, {qn(opts.get_field('bbb_api_url').column)} "
            f"FROM {qn(opts.db_table)} WHERE {qn(opts.get_field('organization').column)} = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id])
        return cursor.fetchone()


def join_hosts(source):
    """The org's self-hosted servers for the Join-link detector (registered with the sync engine)."""
    found = _service_hosts_row(source.organization_id)
    out = {}
    if found is None:
        return out
    jitsi_host, bbb_api_url = found
    try:
        if jitsi_host:
            out["jitsi_hosts"] = [urllib.parse.urlsplit(jitsi_base(jitsi_host)).hostname]
    except MeetingServiceError:
        pass
    host = urllib.parse.urlsplit(bbb_api_url).hostname if bbb_api_url else None
    if host:
        out["self_hosted"] = {"bigbluebutton": [host]}
    return out


# --- the Test button ------------------------------------------------------------------------------------------
@dataclass
class TestStep:
    key: str
    label: str
    ok: bool | None = None  # None: not run (an earlier step failed)
    detail: str = ""
    error: object = None  # the catalogue entry of the fault

    @property
    def skipped(self):
        return self.ok is None


@dataclass
class TestReport:
    kind: str
    email: str
    steps: list = field(default_factory=list)

    @property
    def ok(self):
        return bool(self.steps) and all(s.ok for s in self.steps)


def _run(report, key, label, func):
    step = TestStep(key, label)
    report.steps.append(step)
    if any(s.ok is False for s in report.steps[:-1]):
        return None
    try:
        result = func()
    except MeetingServiceError as exc:
        step.ok, step.error, step.detail = False, error_info(exc.code), exc.message[:500]
        return None
    except gerrors.GoogleError as exc:
        step.ok, step.error, step.detail = False, error_info(exc.error_code), str(exc)[:500]
        return None
    step.ok = True
    step.detail = result if isinstance(result, str) else ""
    return result


def meeting_service_test(*, organization, email, actor=None):
    """Create and delete a meeting as ``email`` on the org's service, naming the fault of each failed step."""
    service = meeting_service_of(organization)
    report = TestReport(kind=service.kind, email=email)
    start = (datetime.now(UTC) + timedelta(hours=1)).replace(second=0, microsecond=0)
    end = start + timedelta(minutes=30)
    key = f"test:{organization.pk}:{timezone.now().timestamp()}"
    if service.kind == Kind.NONE:
        step = TestStep("none", _("Keyword scheduling"), ok=False, error=error_info("meeting_service_none"))
        report.steps.append(step)
        return report
    site = site_for_kind(organization, service.kind, service=service)
    _run(report, "settings", _("Settings complete"), lambda: _check_settings(site))
    if service.kind == Kind.WEBEX:
        _run(report, "token", _("Access token from the refresh token"),
             lambda: site.client.refresh() and _("Token refreshed"))
        _run(report, "site", _("The person's Webex site"), lambda: site.site_for(email))
        made = _run(report, "create", _("Create a meeting"), lambda: site.meeting_create(
            host_email=email, title="Calendar Hub test", start=start, end=end, request_key=key))
        if made:
            report.steps[-1].detail = f"{made.number} · {made.sip_uri}"
        _run(report, "delete", _("Delete the meeting"),
             lambda: site.meeting_release(meeting_id=made.meeting_id, host_email=email) or made.meeting_id)
        _run(report, "room", _("Read the personal room"), lambda: site.personal_room(host_email=email).join_url)
    elif service.kind == Kind.JITSI:
        made = _run(report, "create", _("Make a room link"), lambda: site.meeting_create(
            host_email=email, title="", start=start, end=end, request_key=key))
        if made:
            report.steps[-1].detail = made.join_url
        if site.uses_tokens:
            _run(report, "token", _("Sign a moderator token"), lambda: _jitsi_token_check(site, made, email))
    elif service.kind == Kind.BIGBLUEBUTTON:
        _run(report, "reach", _("Reach the API"), lambda: f"BigBlueButton API {site.version()}")
        made = _run(report, "create", _("Create a meeting (checksum accepted)"), lambda: site.meeting_create(
            host_email=email, title="Calendar Hub test", start=start, end=end, request_key=key))
        if made:
            report.steps[-1].detail = made.meeting_id
        _run(report, "delete", _("End the meeting"), lambda: site.meeting_release(meeting_id=made.meeting_id)
             or made.meeting_id)
    MeetingService.objects.filter(organization=organization).update(tested_at=timezone.now(), test_ok=report.ok)
    audit_record(organization=organization, actor=actor, action="meeting_service.test",
                 detail={"kind": service.kind, "ok": report.ok,
                         "failed": [s.key for s in report.steps if s.ok is False]})
    return report


def _check_settings(site):
    if isinstance(site, BrokenSite):
        raise site.error
    return ""


def _jitsi_token_check(site, made, email):
    url = site.join_url_for(made.meeting_id, email)
    token = url.split("jwt=", 1)[1]
    claims = jwt.decode(token, site.secret, algorithms=["HS256"], audience="jitsi")
    return f"room {claims['room']}, {claims['context']['user']['email']}"
