"""The one client of the emulator's control API (plain HTTP, standard library only), used by the tests, the
benchmarks and the demo alike."""

import json
import urllib.error
import urllib.parse
import urllib.request


class ControlCallFailed(AssertionError):
    """A control call answered with a status it was not expected to (an AssertionError, so tests read well)."""


class EmulatorControl:
    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")

    def call(self, method, path, body=None, *, expect=(200, 201, 204)):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        if status not in expect:
            raise ControlCallFailed(f"{method} {path} -> {status}: {raw[:500]!r}")
        return json.loads(raw) if raw else None

    def reset(self):
        return self.call("POST", "/_emulator/reset")

    def tenant(self, domain, name=None, secondary_domains=None):
        body = {"domain": domain, "name": name or domain}
        if secondary_domains:
            body["secondary_domains"] = list(secondary_domains)
        return self.call("POST", "/_emulator/tenants", body)

    def user(self, email, **fields):
        local = email.split("@")[0]
        body = {"email": email, "given_name": local.capitalize(), "family_name": "Test", "is_admin": False,
                "suspended": False, "locale": "en", "time_zone": "UTC"}
        body.update(fields)
        return self.call("POST", "/_emulator/users", body)

    def patch_user(self, email, **fields):
        return self.call("PATCH", f"/_emulator/users/{urllib.parse.quote(email)}", fields)

    def delete_user(self, email):
        return self.call("DELETE", f"/_emulator/users/{urllib.parse.quote(email)}")

    def service_account(self, project_id="calendar-hub-test"):
        return self.call("POST", "/_emulator/service-accounts", {"project_id": project_id})

    def add_key(self, client_id):
        return self.call("POST", f"/_emulator/service-accounts/{client_id}/keys")

    def delete_key(self, client_id, private_key_id):
        return self.call("DELETE", f"/_emulator/service-accounts/{client_id}/keys/{private_key_id}")

    def delegate(self, domain, client_id, scopes):
        return self.call("PUT", f"/_emulator/tenants/{domain}/delegation/{client_id}", {"scopes": list(scopes)})

    def revoke(self, domain, client_id):
        return self.call("DELETE", f"/_emulator/tenants/{domain}/delegation/{client_id}")

    def set_api(self, project_id, service, enabled):
        return self.call("PUT", f"/_emulator/projects/{project_id}/apis/{service}", {"enabled": enabled})

    def create_event(self, email, event):
        return self.call("POST", f"/_emulator/users/{urllib.parse.quote(email)}/events", event)

    def patch_event(self, email, event_id, patch):
        return self.call("PATCH", f"/_emulator/users/{urllib.parse.quote(email)}/events/{event_id}", patch)

    def delete_event(self, email, event_id):
        return self.call("DELETE", f"/_emulator/users/{urllib.parse.quote(email)}/events/{event_id}")

    def events(self, email):
        return self.call("GET", f"/_emulator/users/{urllib.parse.quote(email)}/events")

    def expanded(self, email, time_min, time_max):
        q = urllib.parse.urlencode({"timeMin": time_min, "timeMax": time_max})
        return self.call("GET", f"/_emulator/users/{urllib.parse.quote(email)}/events/expanded?{q}")

    def vacation(self, email, settings):
        return self.call("PUT", f"/_emulator/users/{urllib.parse.quote(email)}/vacation", settings)

    def fault(self, **spec):
        return self.call("POST", "/_emulator/faults", spec)

    def clear_faults(self):
        return self.call("DELETE", "/_emulator/faults")

    def invalidate_sync_tokens(self, email):
        return self.call("POST", "/_emulator/sync-tokens/invalidate", {"email": email})

    def requests(self, since=0):
        return self.call("GET", f"/_emulator/requests?since={since}")

    def dns_txt(self, name, values):
        return self.call("PUT", f"/_emulator/dns/{name}/txt", {"values": list(values)})

    def advance_clock(self, seconds):
        return self.call("POST", "/_emulator/clock", {"advance_seconds": seconds})

    def quota(self, **spec):
        return self.call("PUT", "/_emulator/quota", spec)

    def stats(self):
        return self.call("GET", "/_emulator/stats")

    def channels(self):
        return self.call("GET", "/_emulator/channels")

    # ------------------------------------------------------------------ rooms, ACL, free/busy

    def resource(self, domain, name, email=None, **fields):
        """A room/resource calendar. ``fields``: capacity, building_id, building_name, floor_name, floor_section,
        features (list of names), category, resource_type, description, user_visible_description, resource_id,
        time_zone, auto_accept, domain_can_book. Returns the control view (``email``, ``resource_id``, ...)."""
        body = {"domain": domain, "name": name, **fields}
        if email:
            body["email"] = email
        return self.call("POST", "/_emulator/resources", body)

    def resources(self):
        return self.call("GET", "/_emulator/resources")["resources"]

    def patch_resource(self, key, **fields):
        return self.call("PATCH", f"/_emulator/resources/{urllib.parse.quote(key)}", fields)

    def delete_resource(self, key):
        return self.call("DELETE", f"/_emulator/resources/{urllib.parse.quote(key)}")

    def share(self, calendar, role, scope_type="user", value=None):
        """Seed an ACL rule on a calendar (no API permission check)."""
        scope = {"type": scope_type} if scope_type == "default" else {"type": scope_type, "value": value}
        return self.call("POST", f"/_emulator/calendars/{urllib.parse.quote(calendar)}/acl",
                         {"scope": scope, "role": role})

    def freebusy_error(self, calendar, reason="internalError"):
        return self.call("PUT", f"/_emulator/calendars/{urllib.parse.quote(calendar)}/freebusy-error",
                         {"reason": reason})

    def clear_freebusy_error(self, calendar):
        return self.call("DELETE", f"/_emulator/calendars/{urllib.parse.quote(calendar)}/freebusy-error")
