"""In-memory state of the emulator: tenants, users, service accounts, calendars, tokens, channels.

Everything is kept in plain JSON-compatible dicts so it can be persisted and reloaded. All access
goes through ``State.lock`` (an RLock); nothing here performs network I/O.
"""

from __future__ import annotations

import base64
import collections
import json
import secrets
import threading
import time
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .util import OAuthError, digits, opaque, rfc3339_ms

TOKEN_AUDIENCES = {
    "https://oauth2.googleapis.com/token",
    "https://www.googleapis.com/oauth2/v4/token",
    "https://accounts.google.com/o/oauth2/token",
}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SHORT_LIVED = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check "
    "your iat and exp values and use a clock with skew to account for clock differences between systems."
)
UNAUTHORIZED_CLIENT = (
    "Client is unauthorized to retrieve access tokens using this method, or client not authorized for "
    "any of the scopes requested."
)
TOKEN_LIFETIME = 3599
JWT_SKEW = 300
SERVICES = ("calendar-json.googleapis.com", "gmail.googleapis.com", "admin.googleapis.com")
SETTING_DEFAULTS = {
    "autoAddHangouts": "false",
    "dateFieldOrder": "MDY",
    "defaultEventLength": "60",
    "format24HourTime": "false",
    "hideInvitations": "false",
    "hideWeekends": "false",
    "locale": "en",
    "remindOnRespondedEventsOnly": "false",
    "showDeclinedEvents": "true",
    "timezone": "Etc/GMT",
    "useKeyboardShortcuts": "true",
    "weekStart": "0",
}


def _b64url_decode(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


class State:
    def __init__(self, allow_insecure_webhooks: bool = False):
        self.lock = threading.RLock()
        self.insecure_webhooks_default = allow_insecure_webhooks
        self.base_url = ""
        self._public_keys: dict[str, object] = {}
        self.push_hook = None  # callable(channel_snapshot, message_number, state) set by the server
        self.reset()

    # ------------------------------------------------------------ lifecycle

    def reset(self) -> None:
        with self.lock:
            self._json_cache: dict[int, tuple[dict, str]] = {}
            self.allow_insecure_webhooks = self.insecure_webhooks_default
            self.clock_offset = 0.0
            self.seq = 0
            self.tenants: dict[str, dict] = {}
            self.users: dict[str, dict] = {}
            self.service_accounts: dict[str, dict] = {}
            self.projects: dict[str, dict] = {}
            self.calendars: dict[str, dict] = {}
            self.tokens: dict[str, dict] = {}
            self.channels: dict[str, dict] = {}
            self.dns: dict[str, list[str]] = {}
            self.vacation: dict[str, dict] = {}
            self.faults: list[dict] = []
            self.requests: collections.deque = collections.deque(maxlen=200_000)
            self.request_seq = 0
            self.quota: dict | None = None
            self.quota_windows: dict[str, collections.deque] = {}
            self.stats = {
                "calls_by_subject": {},
                "calls_by_method": {},
                "pushes_sent": 0,
                "push_failures": 0,
                "push_attempts": 0,
                "changes": [],
            }

    PERSISTED = ("clock_offset", "seq", "tenants", "users", "service_accounts", "projects", "calendars",
                 "tokens", "channels", "dns", "vacation", "quota")

    def dump(self) -> dict:
        with self.lock:
            return json.loads(json.dumps({k: getattr(self, k) for k in self.PERSISTED}))

    def load(self, data: dict) -> None:
        with self.lock:
            self.reset()
            for k in self.PERSISTED:
                if k in data:
                    setattr(self, k, data[k])

    def encode(self, payload) -> bytes:
        """JSON-encode a response; event collections reuse the cached encoding of unchanged events.

        Stored events are never mutated after commit (every change stores a new dict), so an identity
        check is enough to validate a cache entry.
        """
        if isinstance(payload, dict) and payload.get("kind") == "calendar#events" and "items" in payload:
            head = json.dumps({k: v for k, v in payload.items() if k != "items"})
            cache = self._json_cache
            if len(cache) > 100_000:
                cache.clear()
            parts = []
            for ev in payload["items"]:
                hit = cache.get(id(ev))
                if hit is None or hit[0] is not ev:
                    hit = (ev, json.dumps(ev))
                    cache[id(ev)] = hit
                parts.append(hit[1])
            return (head[:-1] + ', "items": [' + ",".join(parts) + "]}").encode()
        return json.dumps(payload).encode()

    # ------------------------------------------------------------ clock

    def now(self) -> float:
        return time.time() + self.clock_offset

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # ------------------------------------------------------------ tenants & users

    def ensure_tenant(self, domain: str, name: str | None = None, secondary_domains=None) -> dict:
        """The tenant whose primary (or secondary/alias) domain is ``domain``, created when unknown. A Google
        tenant (one ``customerId``) can hold several domains; a domain belongs to one tenant only."""
        domain = domain.lower()
        t = self.tenant_of(domain)
        if t is None:
            t = {"domain": domain, "name": name or domain, "customer_id": "C0" + opaque(7).replace("-", "x").replace("_", "y"),
                 "delegations": {}, "secondary_domains": []}
            self.tenants[domain] = t
        elif name:
            t["name"] = name
        for extra in secondary_domains or []:
            extra = extra.lower()
            owner = self.tenant_of(extra)
            if owner is not None and owner is not t:
                raise ValueError(f"{extra} already belongs to another tenant")
            if extra != t["domain"] and extra not in t.setdefault("secondary_domains", []):
                t["secondary_domains"].append(extra)
        return t

    def tenant_of(self, domain: str | None) -> dict | None:
        """The tenant a domain (primary or secondary) belongs to, or None."""
        if not domain:
            return None
        domain = domain.lower()
        t = self.tenants.get(domain)
        if t is not None:
            return t
        for t in self.tenants.values():
            if domain in t.get("secondary_domains", ()):
                return t
        return None

    def same_tenant(self, email_a: str | None, email_b: str | None) -> bool:
        a = self.tenant_of((email_a or "").partition("@")[2])
        return a is not None and a is self.tenant_of((email_b or "").partition("@")[2])

    def live_user(self, email: str | None) -> dict | None:
        if not email:
            return None
        u = self.users.get(email.lower())
        if u is None or u.get("deleted"):
            return None
        return u

    def upsert_user(self, body: dict, create: bool) -> dict:
        email = body["email"].lower() if create else body["email"]
        u = self.users.get(email)
        if create and (u is None or u.get("deleted")):
            local, _, domain = email.partition("@")
            self.ensure_tenant(domain)
            u = {"email": email, "id": digits(21), "given_name": local.capitalize(), "family_name": "User",
                 "is_admin": False, "suspended": False, "deleted": False, "locale": "en",
                 "time_zone": "Etc/GMT", "created": rfc3339_ms(self.now()), "aliases": [],
                 "org_unit_path": "/", "custom_schemas": {}}
            self.users[email] = u
        for key in ("given_name", "family_name", "is_admin", "suspended", "locale", "time_zone", "aliases",
                    "org_unit_path", "custom_schemas", "settings"):
            if key in body and body[key] is not None:
                u[key] = body[key]
        cal = self.ensure_calendar(email, owner=email, kind="user")
        cal["time_zone"] = u["time_zone"]
        return u

    def ensure_calendar(self, cal_id: str, owner: str | None, kind: str, **extra) -> dict:
        cal = self.calendars.get(cal_id)
        if cal is None:
            cal = {"id": cal_id, "owner": owner, "kind": kind, "domain": cal_id.partition("@")[2],
                   "summary": cal_id, "time_zone": "Etc/GMT", "events": {}, "seqs": {}, "acl": {},
                   "epoch": 1, "resource_id": opaque(27), "copies": {}, "created_seq": self.next_seq()}
            if owner:
                cal["acl"][f"user:{owner}"] = {"kind": "calendar#aclRule", "etag": f'"{self.seq:020d}"',
                                               "id": f"user:{owner}", "scope": {"type": "user", "value": owner},
                                               "role": "owner"}
            self.calendars[cal_id] = cal
        cal.update(extra)
        return cal

    def is_admin_of(self, subject: str | None, domain: str) -> bool:
        u = self.live_user(subject)
        return bool(u and u.get("is_admin") and self.tenant_of(domain) is not None
                    and self.tenant_of(subject.partition("@")[2]) is self.tenant_of(domain))

    # ------------------------------------------------------------ service accounts

    def project(self, project_id: str) -> dict:
        p = self.projects.get(project_id)
        if p is None:
            p = {"project_id": project_id, "number": digits(12), "disabled": []}
            self.projects[project_id] = p
        return p

    def create_service_account(self, project_id: str, name: str | None = None) -> dict:
        self.project(project_id)
        name = name or f"calendar-hub-{opaque(6).lower().replace('_', 'a').replace('-', 'b')}"
        email = f"{name}@{project_id}.iam.gserviceaccount.com"
        client_id = digits(21)
        self.service_accounts[client_id] = {"client_id": client_id, "email": email, "project_id": project_id,
                                            "keys": {}}
        return self.add_key(client_id)

    def add_key(self, client_id: str) -> dict:
        sa = self.service_accounts[client_id]
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        kid = secrets.token_hex(20)
        sa["keys"][kid] = {"public_pem": pub, "created": rfc3339_ms(self.now())}
        email = sa["email"]
        return {
            "type": "service_account",
            "project_id": sa["project_id"],
            "private_key_id": kid,
            "private_key": pem,
            "client_email": email,
            "client_id": client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.base_url + "/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + urllib.parse.quote(email),
            "universe_domain": "googleapis.com",
        }

    def _public_key(self, pem: str):
        key = self._public_keys.get(pem)
        if key is None:
            key = serialization.load_pem_public_key(pem.encode())
            self._public_keys[pem] = key
        return key

    # ------------------------------------------------------------ token endpoint

    def grant_token(self, form: dict) -> dict:
        grant_type = form.get("grant_type")
        assertion = form.get("assertion")
        if not grant_type:
            raise OAuthError(400, "invalid_request", "Missing required parameter: grant_type")
        if grant_type != JWT_BEARER:
            raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        if not assertion:
            raise OAuthError(400, "invalid_request", "Missing required parameter: assertion")
        try:
            h64, c64, s64 = assertion.split(".")
            header = json.loads(_b64url_decode(h64))
            claims = json.loads(_b64url_decode(c64))
            signature = _b64url_decode(s64)
            if not isinstance(header, dict) or not isinstance(claims, dict):
                raise ValueError
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            raise OAuthError(400, "invalid_grant", "Invalid JWT Signature.") from exc
        iss = claims.get("iss")
        sa = next((s for s in self.service_accounts.values() if s["email"] == iss), None)
        if sa is None:
            raise OAuthError(400, "invalid_grant", "Invalid JWT: No valid verifier found for issuer")
        kid = header.get("kid")
        keys = [sa["keys"][kid]] if kid in sa["keys"] else ([] if kid else list(sa["keys"].values()))
        signed = f"{h64}.{c64}".encode()
        ok = False
        if header.get("alg") == "RS256":
            for k in keys:
                try:
                    self._public_key(k["public_pem"]).verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
                    ok = True
                    break
                except InvalidSignature:
                    continue
        if not ok:
            raise OAuthError(400, "invalid_grant", "Invalid JWT Signature.")
        if claims.get("aud") not in TOKEN_AUDIENCES:
            raise OAuthError(400, "invalid_grant", "Invalid JWT: Failed audience check.")
        now = self.now()
        iat, exp = claims.get("iat"), claims.get("exp")
        if (not isinstance(iat, int | float) or not isinstance(exp, int | float) or exp < iat
                or exp - iat > 3900 or iat > now + JWT_SKEW or exp < now - JWT_SKEW):
            raise OAuthError(400, "invalid_grant", SHORT_LIVED)
        scopes = [s for s in str(claims.get("scope") or "").split(" ") if s]
        if not scopes:
            raise OAuthError(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        sub = claims.get("sub")
        subject = None
        if sub:
            sub = str(sub).lower()
            u = self.users.get(sub)
            if u is None:
                raise OAuthError(400, "invalid_grant", "Invalid email or User ID")
            if u.get("deleted"):
                raise OAuthError(400, "invalid_grant", "The account has been deleted")
            tenant = self.tenant_of(sub.partition("@")[2]) or {"delegations": {}}
            grant = tenant["delegations"].get(sa["client_id"])
            if grant is None or not set(scopes) <= set(grant["scopes"]):
                raise OAuthError(401, "unauthorized_client", UNAUTHORIZED_CLIENT)
            subject = sub
        token = "ya29.emu-" + secrets.token_urlsafe(32)
        self.tokens[token] = {"subject": subject, "scopes": scopes, "client_id": sa["client_id"],
                              "project_id": sa["project_id"], "expires": now + TOKEN_LIFETIME,
                              "service_account": sa["email"]}
        if len(self.tokens) > 50_000:
            for t in [t for t, v in self.tokens.items() if v["expires"] < now]:
                del self.tokens[t]
        return {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME,
                "scope": " ".join(scopes)}

    # ------------------------------------------------------------ channels

    def active_channels(self, cal_id: str | None = None) -> list[dict]:
        now_ms = self.now() * 1000
        for cid in [c for c, ch in self.channels.items() if ch["expiration"] <= now_ms]:
            del self.channels[cid]
        return [ch for ch in self.channels.values() if cal_id is None or ch["email"] == cal_id]

    def notify(self, cal_id: str) -> None:
        for ch in self.active_channels(cal_id):
            ch["message_number"] += secrets.choice((1, 1, 2, 3))
            if self.push_hook:
                self.push_hook(dict(ch), ch["message_number"], "exists")
