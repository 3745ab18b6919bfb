"""One small HTTP client for the meeting services: a keep-alive connection per thread and host, a timeout,
and every transport failure as ``ServiceUnavailable`` (never a socket error leaking into the keyword flow)."""

import json
import threading
import urllib.parse

import httplib2

from calendar_sync.scheduling.meeting_services.errors import ServiceUnavailable

_local = threading.local()


class Response:
    __slots__ = ("status", "headers", "text")

    def __init__(self, status, headers, text):
        self.status = status
        self.headers = headers
        self.text = text

    def json(self):
        if not self.text:
            return {}
        try:
            value = json.loads(self.text)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def header(self, name):
        return self.headers.get(name.lower())


def _http(timeout):
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    http = pool.get(timeout)
    if http is None:
        http = pool[timeout] = httplib2.Http(timeout=timeout)
        http.follow_redirects = False
    return http


def request(method, url, *, params=None, body=None, form=None, headers=None, timeout=15.0):
    """Send one request; ``body`` is sent as JSON, ``form`` as a urlencoded form."""
    if params:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        url = f"{url}{'&' if '?' in url else '?'}{query}"
    sent_headers = {"Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body)
        sent_headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form)
        sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        resp, content = _http(timeout).request(url, method, body=data, headers=sent_headers)
    except (TimeoutError, OSError, httplib2.HttpLib2Error) as exc:
        _local.pool = {}  # a broken connection must not be reused
        host = urllib.parse.urlsplit(url).netloc
        raise ServiceUnavailable(f"{host} could not be reached ({exc.__class__.__name__})") from exc
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else (content or "")
    return Response(int(resp.status), {k.lower(): v for k, v in resp.items()}, text)
