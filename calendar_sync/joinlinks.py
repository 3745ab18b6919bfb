"""Find the Join target of a Google Calendar event.

A Join target is what the meetings list's Join button opens: an https URL of a known meeting service, a
``sip:`` URI (video systems) or a ``tel:`` URI (dial-in).

Providers: ``webex``, ``zoom``, ``meet``, ``teams``, ``sip`` (a SIP URI of another service), ``tel`` and
``other`` (a conferenceData video entry point of an unknown service).

Precedence, highest first:

1. ``conferenceData.entryPoints`` of type ``video`` (source ``conferenceData``);
2. ``hangoutLink`` (source ``hangoutLink``);
3. links in ``location`` (source ``location``);
4. links in ``description`` (source ``description``);
5. ``conferenceData.entryPoints`` of type ``sip`` and ``phone`` (source ``conferenceData``): the dial-in of a
   conference is a fallback, not a reason to ignore a meeting link typed into the event.

Within one text (location or description), links are ranked by:

a. quoting: a link after a forwarded or quoted-message marker (``---------- Forwarded message ---------``,
   ``-----Original Message-----``, ``From: ...`` followed by ``Sent:``/``Date:``, ``On ... wrote:``, a line
   starting with ``>``, an HTML ``<blockquote>``) ranks below every link before the marker, because it belongs
   to another meeting that was pasted into this one;
b. class: an https link of a known provider (webex, zoom, meet, teams) beats a ``sip:`` URI, which beats a
   ``tel:`` URI;
c. position: the first occurrence wins.

Candidates are deduplicated by URL; the best-ranked occurrence keeps its place.

Text handling: HTML bodies are reduced to text (tags stripped, ``href`` values kept, entities such as ``&amp;``
unescaped); Google's ``https://www.google.com/url?q=...`` redirects and Outlook safelinks are unwrapped;
trailing punctuation is trimmed but balanced parentheses are kept; ``<https://...>`` angle brackets are
removed; scheme and host are lower-cased and ``http`` is upgraded to ``https``. Links that are not a way into a
meeting (downloads, help pages, ``meet.google.com`` without a meeting code, Teams meeting options,
``aka.ms/JoinTeamsMeeting``) are ignored.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit, urlunsplit

__all__ = ["JoinTarget", "extract_links", "find_join_target", "find_join_targets"]

PROVIDERS = ("webex", "zoom", "meet", "teams", "sip", "tel", "other")
SOURCES = ("conferenceData", "hangoutLink", "location", "description")


@dataclass(frozen=True)
class JoinTarget:
    provider: str
    url: str
    source: str


# --- text normalisation ---------------------------------------------------------------------------------

_HTML_HINT = re.compile(
    r"</?(?:a|b|i|u|p|br|hr|div|span|font|table|tbody|tr|td|th|ul|ol|li|blockquote|html|body|head|strong|em"
    r"|h[1-6]|pre|code|center|meta|img)\b[^>]*>",
    re.IGNORECASE,
)
_HTML_DROP = re.compile(r"<!--.*?-->|<(script|style|head)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_HTML_BLOCKQUOTE = re.compile(r"<blockquote\b[^>]*>", re.IGNORECASE)
_HTML_ANCHOR = re.compile(r"<a\b([^>]*)>", re.IGNORECASE)
_HTML_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_HTML_BLOCK_TAG = re.compile(
    r"</?(?:br|p|div|li|ul|ol|tr|table|tbody|h[1-6]|hr|pre|center|blockquote)\b[^>]*>", re.IGNORECASE
)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^>]*)?/?>")
# Only entities terminated by ";": "&copy=1" inside a URL must stay as it is.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _unescape(text: str) -> str:
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def _anchor_href(match: re.Match[str]) -> str:
    href = _HTML_HREF.search(match.group(1))
    if not href:
        return " "
    value = next(g for g in href.groups() if g is not None)
    return f" {value} "


def _to_text(text: str) -> str:
    """Plain text of a location or description; HTML is reduced to text with its ``href`` values kept."""
    if _HTML_HINT.search(text):
        text = _HTML_DROP.sub(" ", text)
        text = _HTML_BLOCKQUOTE.sub("\n>\n", text)  # a quoted-message marker, see _QUOTE_MARKER
        text = _HTML_ANCHOR.sub(_anchor_href, text)
        text = _HTML_BLOCK_TAG.sub("\n", text)
        text = _HTML_TAG.sub(" ", text)
    return _unescape(text)


_QUOTE_MARKER = re.compile(
    "|".join(
        [
            # Gmail, Outlook, Apple Mail and localized variants of the forwarded/original message separator.
            r"^[ \t]*-{2,}[ \t]*(?:forwarded message|original message|message transf[ée]r[ée]|message d'origine"
            r"|전달된 메시지|전달된 메일|원본 메시지|원본 메일|weitergeleitete nachricht|urspr[üu]ngliche nachricht"
            r"|mensaje reenviado|mensaje original)[ \t]*-*",
            r"^[ \t]*begin forwarded message[ \t]*:",
            # Outlook header block: "From: ..." then "Sent: ..." (same line or the next one).
            r"^[ \t]*\**(?:from|de|von|보낸 사람)[ \t]*\**[ \t]*:[^\n]*(?:\n[ \t]*)?\**"
            r"(?:sent|date|envoy[ée]|gesendet|보낸 날짜)[ \t]*\**[ \t]*:",
            r"^[ \t]*on [^\n]{1,300} wrote:[ \t]*$",
            r"^[ \t]*le [^\n]{1,300} a [ée]crit[ \t]*:",
            r"^[ \t]*>",
        ]
    ),
    re.IGNORECASE | re.MULTILINE,
)


def _quote_cutoff(text: str) -> int:
    match = _QUOTE_MARKER.search(text)
    return match.start() if match else len(text)


# --- link candidates ------------------------------------------------------------------------------------

_URL_CHARS = r"[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%{}|^]"
_MEETING_HOSTS = (
    r"(?:webex\.com|zoom\.us|zoomgov\.com|meet\.google\.com|teams\.microsoft\.com|teams\.live\.com)"
)
_CANDIDATE = re.compile(
    "|".join(
        [
            rf"(?P<web>(?<![A-Za-z0-9])https?://{_URL_CHARS}+)",
            r"(?P<sip>(?<![A-Za-z0-9])sips?:[A-Za-z0-9._%+\-!~*'&=$,]+@[A-Za-z0-9.\-]+[A-Za-z0-9](?:;[A-Za-z0-9=._\-]+)*)",
            r"(?P<tel>(?<![A-Za-z0-9])tel:\+?[0-9(][0-9A-Za-z\-.()+,;=*#%]*)",
            rf"(?P<bare>(?<![A-Za-z0-9.@/\-])(?:[A-Za-z0-9\-]+\.)*{_MEETING_HOSTS}/{_URL_CHARS}+)",
            r"(?P<video>(?<![A-Za-z0-9._%+\-:])[A-Za-z0-9._%+\-]+@(?:[A-Za-z0-9\-]+\.)+webex\.com(?![A-Za-z0-9\-]))",
        ]
    ),
    re.IGNORECASE,
)
_TRAILING = set(".,)>]\"';!")


def _trim(url: str) -> str:
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _unwrap(url: str) -> str:
    """Unwrap Google safe-redirect and Outlook safelinks wrappers (nested ones too)."""
    for _ in range(5):
        try:
            parts = urlsplit(url)
        except ValueError:
            return url
        host = (parts.hostname or "").lower()
        if host in ("www.google.com", "google.com") and parts.path == "/url":
            keys = ("q", "url")
        elif host.endswith(".safelinks.protection.outlook.com"):
            keys = ("url",)
        else:
            return url
        query = parse_qs(parts.query)
        inner = next((query[k][0] for k in keys if query.get(k)), "").strip()
        if not re.match(r"(?i)(?:https?://|sips?:|tel:)", inner):
            return url
        url = inner
    return url


_WEBEX_PATH = re.compile(r"^/(?:(?:meet|join)/[^/]+/?$|[^/]+/j\.php$|wbxmjs/joinservice/)", re.IGNORECASE)
_ZOOM_PATH = re.compile(
    r"^/(?:[jw]/\d{9,12}/?$|wc/(?:join/)?\d{9,12}(?:/join)?/?$|my/[A-Za-z0-9._\-]+/?$)", re.IGNORECASE
)
_MEET_PATH = re.compile(r"^/(?:[a-z]{3}-[a-z]{4}-[a-z]{3}|lookup/[A-Za-z0-9_\-]+)/?$", re.IGNORECASE)
_TEAMS_PATH = re.compile(r"^/(?:l/meetup-join/.+|meet/[A-Za-z0-9]+/?$)", re.IGNORECASE)


def _host_is(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _classify_web(url: str) -> tuple[str, str] | None:
    """(provider, normalized url) for an http(s) URL into a meeting, None for anything else."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if not host:
        return None
    path = parts.path
    provider = None
    if _host_is(host, "webex.com"):
        site = host[: -len("webex.com")].rstrip(".")
        if site not in ("", "www", "help") and _WEBEX_PATH.match(path):
            if not path.lower().endswith("/j.php") or parts.query:
                provider = "webex"
    elif _host_is(host, "zoom.us") or _host_is(host, "zoomgov.com"):
        if _ZOOM_PATH.match(path):
            provider = "zoom"
    elif host == "meet.google.com":
        if _MEET_PATH.match(path):
            code = path.rstrip("/")
            if "/lookup/" not in code.lower():
                code = code.lower()
            return "meet", f"https://meet.google.com{code}"
    elif host in ("teams.microsoft.com", "teams.live.com") or _host_is(host, "teams.microsoft.us"):
        if _TEAMS_PATH.match(path):
            provider = "teams"
    if provider is None:
        return None
    return provider, urlunsplit(("https", parts.netloc.lower(), path, parts.query, parts.fragment))


def _sip_target(uri: str) -> tuple[str, str] | None:
    scheme, _, rest = uri.partition(":")
    user, at, host = rest.rpartition("@")
    if not user or not at or not host:
        return None
    host_name, sep, params = host.partition(";")
    host_name = host_name.lower()
    provider = "webex" if _host_is(host_name, "webex.com") else "sip"
    return provider, f"{scheme.lower()}:{user}@{host_name}{sep}{params}"


def _tel_target(uri: str) -> tuple[str, str] | None:
    number = uri.partition(":")[2]
    if not re.match(r"\+?[0-9(]", number):
        return None
    return "tel", f"tel:{number}"


_CLASS_RANK = {"web": 0, "sip": 1, "tel": 2}


def _candidate(kind: str, raw: str) -> tuple[str, tuple[str, str] | None]:
    """(class, (provider, url)) of one regex match."""
    raw = _trim(raw)
    if kind == "bare":
        kind, raw = "web", "https://" + raw
    elif kind == "video":
        kind, raw = "sip", "sip:" + raw
    if kind == "web":
        raw = _unwrap(raw)
        lowered = raw.lower()
        if lowered.startswith(("sip:", "sips:")):
            return "sip", _sip_target(raw)
        if lowered.startswith("tel:"):
            return "tel", _tel_target(raw)
        return "web", _classify_web(raw)
    if kind == "sip":
        return "sip", _sip_target(raw)
    return "tel", _tel_target(raw)


# Every candidate needs one of these in the text (the patterns above are matched with the same IGNORECASE), and
# HTML reduction only inserts separators, so a text without any of them (and without "&", which could unescape
# into one) has no candidate: most descriptions are skipped with one scan instead of five regexes.
_MAY_LINK = re.compile(rf"http|sips?:|tel:|[@&]|{_MEETING_HOSTS}", re.IGNORECASE)


def extract_links(text: str | None, *, source: str = "description") -> list[JoinTarget]:
    """Join targets found in a free text (plain or HTML), best first, deduplicated."""
    if not text or not isinstance(text, str) or not _MAY_LINK.search(text):
        return []
    plain = _to_text(text)
    cutoff = _quote_cutoff(plain)
    ranked = []
    for match in _CANDIDATE.finditer(plain):
        kind = match.lastgroup or "web"
        cls, found = _candidate(kind, match.group(0))
        if found is None:
            continue
        key = (match.start() >= cutoff, _CLASS_RANK[cls], match.start())
        ranked.append((key, JoinTarget(provider=found[0], url=found[1], source=source)))
    ranked.sort(key=lambda item: item[0])
    return _dedupe(target for _, target in ranked)


def _dedupe(targets) -> list[JoinTarget]:
    seen: set[str] = set()
    result = []
    for target in targets:
        if target.url not in seen:
            seen.add(target.url)
            result.append(target)
    return result


def _entry_point_target(entry: dict) -> JoinTarget | None:
    uri = entry.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        return None
    uri = uri.strip()
    kind = entry.get("entryPointType")
    found: tuple[str, str] | None = None
    if kind == "video":
        uri = _unwrap(uri)
        if not re.match(r"(?i)https?://", uri):
            return None
        found = _classify_web(uri)
        if found is None:
            parts = urlsplit(uri)
            found = (
                "other",
                urlunsplit(("https", parts.netloc.lower(), parts.path, parts.query, parts.fragment)),
            )
    elif kind == "sip":
        found = _sip_target(uri if uri.lower().startswith(("sip:", "sips:")) else "sip:" + uri)
    elif kind == "phone":
        found = _tel_target(uri if uri.lower().startswith("tel:") else "tel:" + uri)
        pin = re.sub(r"\s", "", str(entry.get("pin") or ""))
        if found and pin and pin not in found[1]:
            found = "tel", f"{found[1]},,{pin}%23"
    if found is None:
        return None
    return JoinTarget(provider=found[0], url=found[1], source="conferenceData")


def find_join_targets(event: dict) -> list[JoinTarget]:
    """Every Join candidate of a Google Calendar Event resource, best first (see the module docstring)."""
    if not isinstance(event, dict):
        return []
    first: list[JoinTarget] = []
    last: list[JoinTarget] = []
    conference = event.get("conferenceData")
    entry_points = conference.get("entryPoints") if isinstance(conference, dict) else None
    for entry in entry_points if isinstance(entry_points, list) else []:
        if not isinstance(entry, dict):
            continue
        target = _entry_point_target(entry)
        if target is not None:
            (first if entry.get("entryPointType") == "video" else last).append(target)

    hangout = event.get("hangoutLink")
    if isinstance(hangout, str) and re.match(r"(?i)\s*https?://", hangout):
        found = _classify_web(_unwrap(hangout.strip()))
        if found is None:
            parts = urlsplit(hangout.strip())
            found = (
                "meet",
                urlunsplit(("https", parts.netloc.lower(), parts.path, parts.query, parts.fragment)),
            )
        first.append(JoinTarget(provider=found[0], url=found[1], source="hangoutLink"))

    first += extract_links(event.get("location"), source="location")
    first += extract_links(event.get("description"), source="description")
    return _dedupe(first + last)


def find_join_target(event: dict) -> JoinTarget | None:
    """The one target the Join button opens, or None when the event has no way in."""
    targets = find_join_targets(event)
    return targets[0] if targets else None
