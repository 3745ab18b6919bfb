"""Find the Join target of a Google Calendar event.

A Join target is what the meetings list's Join button opens: an https URL of a known meeting service, a
``sip:`` URI (video systems) or a ``tel:`` URI (dial-in).

Providers (``PROVIDERS``; ``PROVIDER_INFO`` gives each one's display name and icon,
``static/img/provider-<id>.svg``): the meeting services of ``_SERVICES`` below (``webex``, ``zoom``, ``meet``,
``teams`` and about fifty more), ``sip`` (a SIP URI of another service), ``tel`` and ``other`` (a
conferenceData video entry point of an unknown service). Services that no longer exist (Google Duo and
Hangouts, consumer Skype, Skype for Business Online on ``meet.lync.com``, Vowel, CoScreen) are not recognised:
a Join button to a dead service only wastes the attendee's time.

Self-hosted services (Jitsi Meet, BigBlueButton/Greenlight, Pexip Infinity, Skype for Business Server,
Nextcloud Talk, LiveKit Meet) are recognised by the shape of their links on any host where that shape is
distinctive (``/bigbluebutton/api/join?…checksum=``, ``/webapp/m/<alias>``…), and on every path of the hosts
an organization names (``jitsi_hosts`` or ``self_hosted={"bigbluebutton": ["bbb.example.org"]}``); links to
those hosts keep their scheme, as an intranet server may not speak https.

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
b. class: an https link of a meeting service beats a link that is often only a side channel (a Discord
   server invite, a YouTube or Vimeo live stream), which beats a ``sip:`` URI, which beats a ``tel:`` URI;
c. position: the first occurrence wins.

Candidates are deduplicated by URL; the best-ranked occurrence keeps its place.

Text handling: HTML bodies are reduced to text (tags stripped, ``href`` values kept, entities such as
``&amp;`` unescaped); Google's ``https://www.google.<tld>/url?q=...`` redirects and Outlook safelinks are
unwrapped; trailing punctuation (and a trailing ``%3E``, an escaped ``>``) is trimmed but balanced parentheses
are kept; ``<https://...>`` angle brackets are removed; scheme and host are lower-cased and ``http`` is
upgraded to ``https``; app links (``zoommtg://…/join?confno=``, ``msteams:/l/meetup-join/…``) become the service's https
link, which opens the app from a browser too. Links that are not a way into a meeting (downloads, help and
marketing pages, ``meet.google.com`` without a meeting code, Teams meeting options,
``aka.ms/JoinTeamsMeeting``, a Zoom host's start link, a YouTube video that is not a live stream) are ignored.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qs, quote, urlsplit, urlunsplit

__all__ = [
    "PROVIDERS",
    "PROVIDER_INFO",
    "JoinTarget",
    "Provider",
    "extract_links",
    "find_join_target",
    "find_join_targets",
    "provider_info",
]

SOURCES = ("conferenceData", "hangoutLink", "location", "description")


@dataclass(frozen=True)
class JoinTarget:
    provider: str
    url: str
    source: str


@dataclass(frozen=True)
class Provider:
    """A meeting service as the meetings list shows it."""

    id: str
    name: str

    @property
    def icon(self) -> str:
        """Static path of the service's icon."""
        return f"img/provider-{self.id}.svg"


# Ids are stable (stored in Meeting.join_provider, at most 20 characters, used in icon file names): never
# rename one.
_PROVIDER_LIST = (
    Provider("webex", "Webex"),
    Provider("zoom", "Zoom"),
    Provider("meet", "Google Meet"),
    Provider("teams", "Microsoft Teams"),
    Provider("chime", "Amazon Chime"),
    Provider("gotomeeting", "GoTo Meeting"),
    Provider("gotowebinar", "GoTo Webinar"),
    Provider("bluejeans", "BlueJeans"),
    Provider("whereby", "Whereby"),
    Provider("jitsi", "Jitsi Meet"),
    Provider("8x8", "8x8 Meet"),
    Provider("bigbluebutton", "BigBlueButton"),
    Provider("skype", "Skype for Business"),
    Provider("slack", "Slack huddle"),
    Provider("ringcentral", "RingCentral Video"),
    Provider("lifesize", "Lifesize"),
    Provider("vonage", "Vonage Meetings"),
    Provider("zoho", "Zoho Meeting"),
    Provider("gather", "Gather"),
    Provider("livestorm", "Livestorm"),
    Provider("dialpad", "Dialpad Meetings"),
    Provider("tuple", "Tuple"),
    Provider("pop", "Pop"),
    Provider("around", "Around"),
    Provider("calvideo", "Cal Video"),
    Provider("livekit", "LiveKit Meet"),
    Provider("teamviewer", "TeamViewer Meeting"),
    Provider("facetime", "FaceTime"),
    Provider("discord", "Discord"),
    Provider("vimeo", "Vimeo"),
    Provider("youtube", "YouTube Live"),
    Provider("streamyard", "StreamYard"),
    Provider("demodesk", "Demodesk"),
    Provider("zhumu", "Zhumu"),
    Provider("lark", "Lark"),
    Provider("feishu", "Feishu"),
    Provider("voov", "VooV Meeting"),
    Provider("workplace", "Workplace"),
    Provider("pexip", "Pexip"),
    Provider("jam", "Jam"),
    Provider("chorus", "Chorus"),
    Provider("proton", "Proton Meet"),
    Provider("gong", "Gong"),
    Provider("demio", "Demio"),
    Provider("riverside", "Riverside"),
    Provider("pumble", "Pumble"),
    Provider("doxyme", "Doxy.me"),
    Provider("bbcollab", "Blackboard Collaborate"),
    Provider("meetecho", "Meetecho"),
    Provider("adobeconnect", "Adobe Connect"),
    Provider("daily", "Daily"),
    Provider("nextcloud", "Nextcloud Talk"),
    Provider("sip", "Video system (SIP)"),
    Provider("tel", "Phone"),
    Provider("other", "Online meeting"),
)
PROVIDER_INFO: dict[str, Provider] = {p.id: p for p in _PROVIDER_LIST}
PROVIDERS = tuple(PROVIDER_INFO)


def provider_info(provider_id: str) -> Provider:
    """The Provider of an id; an unknown id (a stored row from a newer release) reads as ``other``."""
    return PROVIDER_INFO.get(provider_id) or PROVIDER_INFO["other"]


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


# --- meeting services -----------------------------------------------------------------------------------
#
# Each service is a list of rules. A rule names the domains it applies to, which subdomains of them it
# accepts, and a pattern the URL's path must match in full (plus, optionally, patterns its query or fragment
# must contain). The patterns follow each service's documented join-link formats; marketing, help and
# download pages on the same hosts fail them.

_ANY_SUB = ".*"  # the domain itself or any subdomain
_NEED_SUB = ".+"  # a subdomain only (a customer's site), never the bare domain


@dataclass(frozen=True)
class _Rule:
    provider: str
    path: re.Pattern[str]
    query: re.Pattern[str] | None = None
    fragment: re.Pattern[str] | None = None
    sub: re.Pattern[str] | None = None  # None: the exact host only
    not_sub: frozenset[str] = frozenset()
    host: re.Pattern[str] | None = None  # host-independent rules: a pattern for the host, if any
    weak: bool = False  # often a side channel rather than the meeting (see class ranking)
    keep_scheme: bool = False  # self-hosted: an intranet server may not speak https
    build: Callable[[SplitResult], str | None] | None = None


def _rule(
    provider,
    path,
    *,
    query=None,
    fragment=None,
    sub=None,
    not_sub=(),
    host=None,
    weak=False,
    keep_scheme=False,
    build=None,
    case=False,
) -> _Rule:
    flags = 0 if case else re.IGNORECASE
    return _Rule(
        provider=provider,
        path=re.compile(path, flags),
        query=re.compile(query, re.IGNORECASE) if query else None,
        fragment=re.compile(fragment, re.IGNORECASE) if fragment else None,
        sub=re.compile(sub, re.IGNORECASE) if sub is not None else None,
        not_sub=frozenset(not_sub),
        host=re.compile(host, re.IGNORECASE) if host else None,
        weak=weak,
        keep_scheme=keep_scheme,
        build=build,
    )


def _one_segment_except(*names: str, chars: str = r"A-Za-z0-9._~%\-") -> str:
    """A single path segment (a room name) that is none of ``names`` (pages of the service's own site)."""
    return rf"/(?!(?:{'|'.join(names)})/?$)[A-Za-z0-9][{chars}]*/?"


_SITE_PAGES = (
    "about",
    "api",
    "blog",
    "careers",
    "contact",
    "customers",
    "dashboard",
    "docs",
    "download",
    "downloads",
    "enterprise",
    "features",
    "help",
    "home",
    "integrations",
    "legal",
    "login",
    "pricing",
    "privacy",
    "product",
    "products",
    "security",
    "signin",
    "sign-in",
    "signup",
    "sign-up",
    "solutions",
    "support",
    "terms",
    "en",
    "de",
    "fr",
    "es",
    "pt",
    "ja",
    "app",
    "apps",
    "account",
    "settings",
    "join",
    "start",
)
_COMMON_NOT_SUB = (
    "www",
    "help",
    "support",
    "docs",
    "developer",
    "developers",
    "status",
    "blog",
    "community",
    "api",
    "dashboard",
    "marketplace",
)


def _meet_url(parts: SplitResult) -> str:
    code = re.sub(r"(?i)^/_meet/", "/", parts.path.rstrip("/"))
    if not code.lower().startswith("/lookup/"):
        code = code.lower()
    return f"https://meet.google.com{code}"


# Paths of a Jitsi Meet server that are its own files and endpoints, not rooms.
_JITSI_SYSTEM = (
    r"(?!(?:static|libs|images|sounds|css|fonts|lang|http-bind|xmpp-websocket|colibri-ws"
    r"|_api|_unlock)(?:/|$))"
)
_JITSI_SEGMENT = rf"/{_JITSI_SYSTEM}[^/.]+"
_JITSI_ROOM = _JITSI_SEGMENT + "/?"
_GREENLIGHT_ID = r"[a-z0-9]{3}(?:-[a-z0-9]{3}){2,3}"

_SERVICES: dict[str, list[tuple[tuple[str, ...], _Rule]]] = {
    "webex": [
        (
            ("webex.com",),
            _rule(
                "webex",
                r"/(?:meet|join)/[^/]+/?|/wbxmjs/joinservice/.*",
                sub=_NEED_SUB,
                not_sub=_COMMON_NOT_SUB,
            ),
        ),
        # j.php (meeting), e.php (event/webinar): only with their MTID query.
        (
            ("webex.com",),
            _rule("webex", r"(?:/[^/]+){1,2}/[je]\.php", query=r".", sub=_NEED_SUB, not_sub=_COMMON_NOT_SUB),
        ),
    ],
    "zoom": [
        # /j/ meeting, /w/ webinar, /wc/ web client, /my/ personal link, /ejl/ Zoom Events; /s/ is the host's
        # start link (it carries the host's token) and is not shown to attendees.
        (
            ("zoom.us", "zoom.com", "zoomgov.com", "zoom-x.de"),
            _rule(
                "zoom",
                r"/[jw]/\d{9,12}/?|/wc/(?:join/)?\d{9,12}(?:/join)?/?|/my/[A-Za-z0-9._\-]+/?|/ejl/[^/].*",
                sub=_ANY_SUB,
                not_sub=_COMMON_NOT_SUB,
            ),
        ),
    ],
    "meet": [
        (
            ("meet.google.com",),
            _rule(
                "meet", r"/(?:_meet/)?[a-z]{3}-[a-z]{4}-[a-z]{3}/?|/lookup/[A-Za-z0-9_\-]+/?", build=_meet_url
            ),
        ),
        (("stream.meet.google.com",), _rule("meet", r"/stream/[0-9a-f\-]{8,}/?")),
        (("g.co",), _rule("meet", r"/meet/[A-Za-z0-9_\-]+/?")),
    ],
    "teams": [
        (
            ("teams.microsoft.com", "teams.live.com", "teams.microsoft.us", "teams.cloud.microsoft"),
            _rule("teams", r"/l/meetup-join/.+|/meet/\d{6,20}/?", sub=_ANY_SUB),
        ),
        (
            ("teams.microsoft.com", "teams.live.com", "teams.microsoft.us", "teams.cloud.microsoft"),
            _rule("teams", r"/(?:_|v2)?/?", fragment=r"^/?(?:_#/)?l/meetup-join/.", sub=_ANY_SUB),
        ),
        (
            ("teams.microsoft.com", "teams.microsoft.us"),
            _rule(
                "teams", r"/dl/launcher/launcher\.html", query=r"(?:^|&)url=[^&]*meetup-join", sub=_ANY_SUB
            ),
        ),
    ],
    # Amazon ends Chime on 20 February 2026; until then its links still open meetings.
    "chime": [
        (("chime.aws",), _rule("chime", r"/\d{10}/?")),
        (("app.chime.aws",), _rule("chime", r"/meetings/?", query=r"(?:^|&)pin=\d{10}")),
    ],
    "gotomeeting": [
        (
            ("gotomeeting.com",),
            _rule("gotomeeting", r"/join/\d{9,10}/?", sub=_ANY_SUB, not_sub=_COMMON_NOT_SUB),
        ),
        (
            ("meet.goto.com",),
            _rule(
                "gotomeeting",
                r"/\d{9,10}/?|" + _one_segment_except(*_SITE_PAGES, "install", "schedule", "meetings"),
            ),
        ),
        (("app.goto.com",), _rule("gotomeeting", r"/meeting/\d{9,10}/?")),
        (("gotomeet.me",), _rule("gotomeeting", r"/[A-Za-z0-9][A-Za-z0-9._\-]*/?")),
    ],
    "gotowebinar": [
        (
            ("gotowebinar.com",),
            _rule("gotowebinar", r"/join/\d{6,}(?:/\d{6,})?/?", sub=_ANY_SUB, not_sub=_COMMON_NOT_SUB),
        ),
    ],
    "bluejeans": [
        (
            ("bluejeans.com",),
            _rule(
                "bluejeans",
                r"/\d{6,12}(?:/\d{4,6})?(?:/(?:webrtc|browser))?/?",
                sub=_ANY_SUB,
                not_sub=_COMMON_NOT_SUB,
            ),
        ),
    ],
    "whereby": [
        (
            ("whereby.com",),
            _rule(
                "whereby",
                _one_segment_except(
                    *_SITE_PAGES,
                    "information",
                    "user",
                    "org",
                    "embed",
                    "meetings",
                    "rooms",
                    "get-started",
                    chars=r"A-Za-z0-9_\-",
                ),
                sub=_ANY_SUB,
                not_sub=(*_COMMON_NOT_SUB, "embed", "dev"),
            ),
        ),
    ],
    "jitsi": [
        (("meet.jit.si",), _rule("jitsi", _JITSI_ROOM)),
        # 8x8's Jitsi as a Service: the tenant is the app id.
        (("8x8.vc",), _rule("jitsi", r"/vpaas-magic-cookie-[0-9a-f]+/[^/.]+/?")),
    ],
    "8x8": [
        (("8x8.vc",), _rule("8x8", rf"(?!/vpaas-magic-cookie-){_JITSI_SEGMENT}(?:/[^/]+)?/?")),
    ],
    "skype": [],  # host-independent rules below (Skype for Business Server and Lync simple URLs)
    "slack": [
        (("app.slack.com",), _rule("slack", r"/huddle/T[A-Z0-9]{6,}/[CDG][A-Z0-9]{6,}/?")),
    ],
    "ringcentral": [
        (("v.ringcentral.com",), _rule("ringcentral", r"/join/\d{6,12}/?")),
        (("meetings.ringcentral.com",), _rule("ringcentral", r"/j/\d{9,12}/?")),
    ],
    "lifesize": [
        (
            ("lifesizecloud.com",),
            _rule("lifesize", r"/(?:extension/)?\d{3,12}/?", sub=_NEED_SUB, not_sub=_COMMON_NOT_SUB),
        ),
    ],
    "vonage": [
        (("meetings.vonage.com",), _rule("vonage", r"/\d{6,12}/?")),
    ],
    "zoho": [
        (
            tuple(
                f"meeting.{d}"
                for d in (
                    "zoho.com",
                    "zoho.eu",
                    "zoho.in",
                    "zoho.com.au",
                    "zoho.com.cn",
                    "zoho.jp",
                    "zoho.sa",
                    "zohocloud.ca",
                )
            ),
            _rule("zoho", r"(?:/meeting)?(?:/login)?/join(?:\.jsp|\.do)?/?", query=r"(?:^|&)key=\d{6,}"),
        ),
        (
            tuple(f"meet.{d}" for d in ("zoho.com", "zoho.eu", "zoho.in", "zoho.com.au", "zoho.jp")),
            _rule("zoho", r"/[A-Za-z0-9]{6,}/?"),
        ),
        (
            tuple(f"cliq.{d}" for d in ("zoho.com", "zoho.eu", "zoho.in", "zoho.com.au", "zoho.jp")),
            _rule("zoho", r"/meetings/[A-Za-z0-9]+/?"),
        ),
    ],
    "gather": [
        (("app.gather.town", "gather.town"), _rule("gather", r"/app/[A-Za-z0-9]+/[^/]+/?")),
        (("app.gather.town",), _rule("gather", r"/invite/?", query=r"(?:^|&)token=.")),
        (("app.v2.gather.town",), _rule("gather", r"/app/[^/].*")),
    ],
    "livestorm": [
        (("app.livestorm.co", "app.livestorm.com"), _rule("livestorm", r"/p/[0-9a-f\-]{8,}/live/?")),
    ],
    "dialpad": [
        (("meetings.dialpad.com",), _rule("dialpad", r"/room/[^/]+/?|" + _one_segment_except(*_SITE_PAGES))),
        # UberConference became Dialpad Meetings; its room links redirect there.
        (("uberconference.com",), _rule("dialpad", _one_segment_except(*_SITE_PAGES), sub="(?:www)?")),
    ],
    "tuple": [(("tuple.app",), _rule("tuple", r"/c/[A-Za-z0-9_\-]+/?"))],
    "pop": [(("pop.com",), _rule("pop", r"/j/\d[\d\-]{5,}/?"))],
    "around": [(("around.co", "meet.around.co"), _rule("around", r"/r/[A-Za-z0-9_\-]+/?"))],
    "calvideo": [(("app.cal.com", "cal.com"), _rule("calvideo", r"/video/[A-Za-z0-9_\-]+/?"))],
    "livekit": [
        (("livekit.io",), _rule("livekit", r"/rooms/[^/]+/?", sub=r"meet[a-z0-9\-]*(?:\..+)?")),
    ],
    # TeamViewer Meeting ids start with "m"; "s" ids are remote-support sessions, not meetings.
    "teamviewer": [(("go.teamviewer.com",), _rule("teamviewer", r"/m\d[\d\-]{5,}/?"))],
    "facetime": [(("facetime.apple.com",), _rule("facetime", r"/join/?", fragment=r"."))],
    "discord": [
        (("discord.gg",), _rule("discord", r"/[A-Za-z0-9\-]{2,32}/?", weak=True)),
        (
            ("discord.com", "discordapp.com"),
            _rule("discord", r"/invite/[A-Za-z0-9\-]+/?", sub="(?:www|ptb|canary)?", weak=True),
        ),
        # A voice channel or a scheduled event is the meeting itself.
        (
            ("discord.com", "discordapp.com"),
            _rule("discord", r"/channels/\d+/\d+/?|/events/\d+/\d+(?:/\d+)?/?", sub="(?:www|ptb|canary)?"),
        ),
    ],
    "vimeo": [
        (
            ("vimeo.com",),
            _rule("vimeo", r"/event/\d+(?:/[0-9a-f]+)?(?:/embed)?/?", sub="(?:www)?", weak=True),
        ),
        (("venues.vimeo.com",), _rule("vimeo", r"/[^/].*", weak=True)),
    ],
    "youtube": [
        (
            ("youtube.com",),
            _rule(
                "youtube",
                r"/live/[A-Za-z0-9_\-]{6,}/?|/@[^/]+/live/?|/(?:channel|c|user)/[^/]+/live/?",
                sub="(?:www|m)?",
                weak=True,
            ),
        ),
    ],
    "streamyard": [
        # Guest invites (streamyard.com/<code>, /guest/<code>); the code is random, pages are words.
        (
            ("streamyard.com",),
            _rule(
                "streamyard", r"/(?:guest|watch)/[A-Za-z0-9]+/?|/(?=[a-z]*\d)[a-z0-9]{8,13}/?", sub="(?:www)?"
            ),
        ),
    ],
    "demodesk": [(("demodesk.com",), _rule("demodesk", r"/[A-Z0-9]{6,12}/?", sub="(?:www)?", case=True))],
    "zhumu": [(("welink.zhumu.com",), _rule("zhumu", r"/j/\d{9,12}/?|/wc/join/\d{9,12}/?"))],
    "lark": [(("vc.larksuite.com",), _rule("lark", r"/j/\d{9,12}/?"))],
    "feishu": [(("vc.feishu.cn",), _rule("feishu", r"/j/\d{9,12}/?"))],
    "voov": [
        (
            ("voovmeeting.com", "meeting.tencent.com"),
            _rule("voov", r"/(?:dm|s|p|j)/[A-Za-z0-9]+/?", sub="(?:www)?"),
        )
    ],
    # Meta ends Workplace in June 2026.
    "workplace": [
        (
            ("workplace.com",),
            _rule("workplace", r"/groupcall/[A-Za-z0-9_:\-]+/?", sub=_ANY_SUB, not_sub=("www",)),
        )
    ],
    "pexip": [],  # host-independent rules below (Pexip Infinity web app)
    "jam": [(("jam.systems",), _rule("jam", _one_segment_except(*_SITE_PAGES)))],
    "chorus": [(("go.chorus.ai",), _rule("chorus", r"/[A-Za-z0-9_\-]+/?"))],
    "proton": [(("meet.proton.me",), _rule("proton", r"/join/[A-Za-z0-9_\-]+/?"))],
    "gong": [(("join.gong.io",), _rule("gong", r"/[^/]+/[^/]+/?", sub=_ANY_SUB))],
    "demio": [(("event.demio.com",), _rule("demio", r"/ref/[A-Za-z0-9_\-]+/?"))],
    "riverside": [
        (("riverside.fm", "riverside.com"), _rule("riverside", r"/studio/[^/]+/?", sub="(?:www)?"))
    ],
    "pumble": [(("meet.pumble.com",), _rule("pumble", r"/[a-z0-9]+(?:-[a-z0-9]+){1,3}/?"))],
    "doxyme": [
        (
            ("doxy.me",),
            _rule(
                "doxyme",
                _one_segment_except(*_SITE_PAGES, "clinics", "providers", "resources", "partners"),
                sub=_ANY_SUB,
                not_sub=_COMMON_NOT_SUB,
            ),
        )
    ],
    "bbcollab": [
        (
            ("bbcollab.com",),
            _rule(
                "bbcollab",
                r"/(?:guest|invite)/[A-Za-z0-9]+/?"
                r"|/collab/ui/session/(?:guest|join)/[A-Za-z0-9]+/?",
                sub=_NEED_SUB,
                not_sub=_COMMON_NOT_SUB,
            ),
        )
    ],
    "meetecho": [
        (("meetings.conf.meetecho.com",), _rule("meetecho", r"/[^/]+/?", query=r"(?:^|&)session=\d+"))
    ],
    "adobeconnect": [
        (
            ("adobeconnect.com",),
            _rule(
                "adobeconnect",
                _one_segment_except(*_SITE_PAGES, "admin", "system", "common", "content", "_a\\d+"),
                sub=_NEED_SUB,
                not_sub=_COMMON_NOT_SUB,
            ),
        )
    ],
    "daily": [
        (
            ("daily.co",),
            _rule(
                "daily",
                _one_segment_except(*_SITE_PAGES),
                sub=_NEED_SUB,
                not_sub=(*_COMMON_NOT_SUB, "gs", "prebuilt"),
            ),
        )
    ],
    "bigbluebutton": [],  # host-independent rules below
    "nextcloud": [],  # host-independent rules below
}

# Links of self-hosted services, recognised on any host that is not a known service's. Only shapes that other
# sites hardly ever use.
_GENERIC_RULES = (
    _rule(
        "bigbluebutton",
        r"(?:/[^/]+)*/bigbluebutton/api/join",
        query=r"(?:^|&)checksum=[0-9a-f]{40}",
        keep_scheme=True,
    ),
    # Greenlight v2 (/gl/<id>, /b/<id>) and v3 (/rooms/<id>[/join]) room links.
    _rule(
        "bigbluebutton",
        rf"(?:/[^/]+)?/(?:gl|b|rooms)/{_GREENLIGHT_ID}(?:/join)?/?",
        keep_scheme=True,
        case=True,
    ),
    # The BigBlueButton activity of Moodle.
    _rule(
        "bigbluebutton",
        r"(?:/[^/]+)*/mod/bigbluebuttonbn/(?:view|bbb_view)\.php",
        query=r"(?:^|&)id=\d+",
        keep_scheme=True,
    ),
    # Pexip Infinity web app: /webapp/m/<alias>, /webapp/conference/<alias>, /webapp/#/?conference=<alias>.
    _rule("pexip", r"/webapp[23]?/(?:m|conference)/[^/]+(?:/.*)?", keep_scheme=True),
    _rule("pexip", r"/webapp[23]?/(?:index\.html|home)?/?", query=r"(?:^|&)conference=.", keep_scheme=True),
    _rule("pexip", r"/webapp[23]?/(?:index\.html|home)?/?", fragment=r"[?&]conference=.", keep_scheme=True),
    # Skype for Business Server and Lync simple URLs: https://meet.example.com/<user>/<conference id>,
    # https://<pool>/meet/<user>/<conference id>.
    _rule("skype", r"/meet/[A-Za-z0-9._\-]+/[A-Z0-9]{8}/?", keep_scheme=True, case=True),
    _rule(
        "skype",
        r"/[A-Za-z0-9._\-]+/[A-Z0-9]{8}/?",
        host=r"(?:meet|lync|sfb)\..+",
        keep_scheme=True,
        case=True,
    ),
    # Nextcloud Talk conversations: tokens are 8 random lower-case letters and digits.
    _rule("nextcloud", r"(?:/[^/]+)*/index\.php/call/[a-z0-9]{8,32}/?", keep_scheme=True, case=True),
    _rule("nextcloud", r"(?:/[^/]+)*/call/(?=[a-z]*\d)[a-z0-9]{8}/?", keep_scheme=True, case=True),
)

# Every path of a host the organization names for a self-hosted service.
_SELF_HOSTED_RULES = {
    "jitsi": (_rule("jitsi", rf"(?:{_JITSI_SEGMENT})?{_JITSI_ROOM}", keep_scheme=True),),
    "bigbluebutton": (
        _rule("bigbluebutton", r"(?:/[^/]+)?/(?:gl|b|rooms)/[^/]+(?:/join)?/?", keep_scheme=True),
        _GENERIC_RULES[0],
    ),
    "pexip": (_rule("pexip", r"/webapp[23]?/.*|/[^/]+/?", keep_scheme=True),),
    "skype": (_rule("skype", r"(?:/meet)?/[^/]+/[A-Za-z0-9]{4,12}/?", keep_scheme=True),),
    "nextcloud": (_rule("nextcloud", r"(?:/[^/]+)*/call/[A-Za-z0-9]{4,32}/?", keep_scheme=True),),
    "livekit": (_rule("livekit", r"/rooms/[^/]+/?", keep_scheme=True),),
}
SELF_HOSTED_PROVIDERS = tuple(_SELF_HOSTED_RULES)

_DOMAIN_RULES: dict[str, tuple[_Rule, ...]] = {}
for _entries in _SERVICES.values():
    for _domains, _r in _entries:
        for _domain in _domains:
            _DOMAIN_RULES[_domain] = (*_DOMAIN_RULES.get(_domain, ()), _r)
del _entries, _domains, _r, _domain


@dataclass(frozen=True)
class _Hosts:
    """The self-hosted service hosts an organization configured: exact hosts and ``*.`` wildcards."""

    exact: Mapping[str, tuple[_Rule, ...]]
    wildcard: tuple[tuple[str, tuple[_Rule, ...]], ...]

    def rules(self, host: str) -> tuple[_Rule, ...]:
        found = self.exact.get(host, ())
        for suffix, rules in self.wildcard:
            if host.endswith(suffix):
                found += rules
        return found


_NO_HOSTS = _Hosts({}, ())


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if not value.startswith("["):
        value = value.split(":", 1)[0]
    return value.rstrip(".")


@functools.lru_cache(maxsize=64)
def _compile_hosts(pairs: tuple[tuple[str, str], ...]) -> _Hosts:
    exact: dict[str, tuple[_Rule, ...]] = {}
    wildcard: dict[str, tuple[_Rule, ...]] = {}
    for provider, raw in pairs:
        rules = _SELF_HOSTED_RULES.get(provider)
        host = _host_name(raw)
        if not rules or not host:
            continue
        if host.startswith("*."):
            wildcard[host[1:]] = wildcard.get(host[1:], ()) + rules
        else:
            exact[host] = exact.get(host, ()) + rules
    return _Hosts(exact, tuple(wildcard.items()))


def _hosts(jitsi_hosts: Iterable[str] | None, self_hosted: Mapping[str, Iterable[str]] | None) -> _Hosts:
    pairs: list[tuple[str, str]] = []
    if isinstance(jitsi_hosts, str):
        jitsi_hosts = [jitsi_hosts]
    pairs += [("jitsi", h) for h in jitsi_hosts or () if isinstance(h, str)]
    for provider, hosts in (self_hosted or {}).items():
        if isinstance(hosts, str):
            hosts = [hosts]
        pairs += [(provider, h) for h in hosts or () if isinstance(h, str)]
    if not pairs:
        return _NO_HOSTS
    return _compile_hosts(tuple(sorted(set(pairs))))


# --- link candidates ------------------------------------------------------------------------------------

_URL_CHARS = r"[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%{}|^]"
# Hosts whose links are recognised without a scheme too ("zoom.us/j/…" typed into a location).
_MEETING_HOSTS = (
    r"(?:webex\.com|zoom\.us|zoomgov\.com|meet\.google\.com|teams\.microsoft\.com|teams\.live\.com|chime\.aws"
    r"|meet\.goto\.com|gotomeeting\.com|bluejeans\.com|whereby\.com|meet\.jit\.si|8x8\.vc|v\.ringcentral\.com"
    r"|lifesizecloud\.com|facetime\.apple\.com|welink\.zhumu\.com|vc\.larksuite\.com|vc\.feishu\.cn"
    r"|voovmeeting\.com|meeting\.tencent\.com)"
)
_APP_SCHEMES = r"(?:zoommtg|zoomus)://|msteams:/"
_CANDIDATE = re.compile(
    "|".join(
        [
            rf"(?P<web>(?<![A-Za-z0-9])https?://{_URL_CHARS}+)",
            rf"(?P<app>(?<![A-Za-z0-9])(?:{_APP_SCHEMES}){_URL_CHARS}+)",
            r"(?P<sip>(?<![A-Za-z0-9])sips?:[A-Za-z0-9._%+\-!~*'&=$,]+@[A-Za-z0-9.\-]+[A-Za-z0-9](?:;[A-Za-z0-9=._\-]+)*)",
            r"(?P<tel>(?<![A-Za-z0-9])tel:\+?[0-9(][0-9A-Za-z\-.()+,;=*#%]*)",
            rf"(?P<bare>(?<![A-Za-z0-9.@/\-])(?:[A-Za-z0-9\-]+\.)*{_MEETING_HOSTS}/{_URL_CHARS}+)",
            r"(?P<video>(?<![A-Za-z0-9._%+\-:])[A-Za-z0-9._%+\-]+@(?:[A-Za-z0-9\-]+\.)+webex\.com(?![A-Za-z0-9\-]))",
        ]
    ),
    re.IGNORECASE,
)
_TRAILING = set(".,)>]\"';!")
_TRAILING_ESCAPES = ("%3e", "%22", "%27", "%20")  # an escaped ">" or quote glued to the end of a link


def _trim(url: str) -> str:
    while url:
        if url[-1] in _TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break
            url = url[:-1]
        elif url[-3:].lower() in _TRAILING_ESCAPES:
            url = url[:-3]
        else:
            break
    return url


_GOOGLE_HOST = re.compile(r"(?:www\.)?google\.[a-z]{2,3}(?:\.[a-z]{2})?")


def _unwrap(url: str) -> str:
    """Unwrap Google safe-redirect and Outlook safelinks wrappers (nested ones too)."""
    for _ in range(5):
        try:
            parts = urlsplit(url)
        except ValueError:
            return url
        host = (parts.hostname or "").lower()
        if _GOOGLE_HOST.fullmatch(host) and parts.path == "/url":
            keys = ("q", "url")
        elif host.endswith((".safelinks.protection.outlook.com", ".safelinks.protection.office365.us")):
            keys = ("url",)
        else:
            return url
        query = parse_qs(parts.query)
        inner = next((query[k][0] for k in keys if query.get(k)), "").strip()
        if not re.match(r"(?i)(?:https?://|sips?:|tel:)", inner):
            return url
        url = _trim(inner)
    return url


def _rule_accepts(rule: _Rule, parts: SplitResult) -> bool:
    if not rule.path.fullmatch(parts.path or "/"):
        return False
    if rule.query is not None and not rule.query.search(parts.query):
        return False
    return rule.fragment is None or bool(rule.fragment.search(parts.fragment))


def _match_rules(host: str, parts: SplitResult, hosts: _Hosts) -> tuple[_Rule | None, bool]:
    """(the rule a URL satisfies, whether its host belongs to a known service)."""
    for rule in hosts.rules(host):
        if _rule_accepts(rule, parts):
            return rule, True
    known = False
    labels = host.split(".")
    for i in range(len(labels) - 1):
        rules = _DOMAIN_RULES.get(".".join(labels[i:]))
        if not rules:
            continue
        known = True
        sub = ".".join(labels[:i])
        for rule in rules:
            if rule.sub is None:
                if sub:
                    continue
            elif sub in rule.not_sub or not rule.sub.fullmatch(sub):
                continue
            if _rule_accepts(rule, parts):
                return rule, True
    if known:
        return None, True
    for rule in _GENERIC_RULES:
        if (rule.host is None or rule.host.fullmatch(host)) and _rule_accepts(rule, parts):
            return rule, False
    return None, False


def _classify(url: str, hosts: _Hosts = _NO_HOSTS) -> tuple[str, str, bool] | None:
    """(provider, normalized url, weak) for an http(s) URL into a meeting, None for anything else."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if not host:
        return None
    rule, _ = _match_rules(host, parts, hosts)
    if rule is None:
        return None
    if rule.build is not None:
        built = rule.build(parts)
        return (rule.provider, built, rule.weak) if built else None
    scheme = parts.scheme.lower() if rule.keep_scheme else "https"
    return (
        rule.provider,
        urlunsplit((scheme, parts.netloc.lower(), parts.path, parts.query, parts.fragment)),
        rule.weak,
    )


def _classify_web(url: str, hosts: _Hosts = _NO_HOSTS) -> tuple[str, str] | None:
    """(provider, normalized url) for an http(s) URL into a meeting, None for anything else."""
    found = _classify(url, hosts)
    return (found[0], found[1]) if found else None


def _is_zoom_host(host: str) -> bool:
    return any(
        host == d or host.endswith("." + d) for d in ("zoom.us", "zoom.com", "zoomgov.com", "zoom-x.de")
    )


def _app_link(uri: str) -> str | None:
    """The https link an app link (``zoommtg://``, ``msteams:``) stands for."""
    scheme, _, rest = uri.partition(":")
    scheme = scheme.lower()
    if scheme == "msteams":
        path = rest.lstrip("/")
        if path.lower().startswith(("teams.microsoft.com/", "teams.live.com/")):
            return "https://" + path
        return "https://teams.microsoft.com/" + path
    try:
        parts = urlsplit("https:" + rest)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not _is_zoom_host(host) or parts.path.rstrip("/").lower() != "/join":
        return None
    query = parse_qs(parts.query)
    number = (query.get("confno") or [""])[0]
    if not re.fullmatch(r"\d{9,12}", number):
        return None
    password = (query.get("pwd") or [""])[0]
    return f"https://{host}/j/{number}" + (f"?pwd={quote(password, safe='.-_~')}" if password else "")


def _sip_target(uri: str) -> tuple[str, str] | None:
    scheme, _, rest = uri.partition(":")
    user, at, host = rest.rpartition("@")
    if not user or not at or not host:
        return None
    host_name, sep, params = host.partition(";")
    host_name = host_name.lower()
    provider = "webex" if host_name == "webex.com" or host_name.endswith(".webex.com") else "sip"
    return provider, f"{scheme.lower()}:{user}@{host_name}{sep}{params}"


def _tel_target(uri: str) -> tuple[str, str] | None:
    number = uri.partition(":")[2]
    if not re.match(r"\+?[0-9(]", number):
        return None
    return "tel", f"tel:{number}"


_CLASS_RANK = {"web": 0, "weak": 1, "sip": 2, "tel": 3}


def _candidate(kind: str, raw: str, hosts: _Hosts = _NO_HOSTS) -> tuple[str, tuple[str, str] | None]:
    """(class, (provider, url)) of one regex match."""
    raw = _trim(raw)
    if kind == "bare":
        kind, raw = "web", "https://" + raw
    elif kind == "video":
        kind, raw = "sip", "sip:" + raw
    elif kind == "app":
        kind, raw = "web", _app_link(raw) or ""
        if not raw:
            return "web", None
    if kind == "web":
        raw = _unwrap(raw)
        lowered = raw.lower()
        if lowered.startswith(("sip:", "sips:")):
            return "sip", _sip_target(raw)
        if lowered.startswith("tel:"):
            return "tel", _tel_target(raw)
        found = _classify(raw, hosts)
        if found is None:
            return "web", None
        return ("weak" if found[2] else "web"), (found[0], found[1])
    if kind == "sip":
        return "sip", _sip_target(raw)
    return "tel", _tel_target(raw)


# Every candidate needs one of these in the text (the patterns above are matched with the same IGNORECASE), and
# HTML reduction only inserts separators, so a text without any of them (and without "&", which could unescape
# into one) has no candidate: most descriptions are skipped with one scan instead of five regexes.
_MAY_LINK = re.compile(rf"http|sips?:|tel:|[@&]|{_APP_SCHEMES}|{_MEETING_HOSTS}", re.IGNORECASE)


def extract_links(
    text: str | None,
    *,
    source: str = "description",
    jitsi_hosts: Iterable[str] | None = None,
    self_hosted: Mapping[str, Iterable[str]] | None = None,
) -> list[JoinTarget]:
    """Join targets found in a free text (plain or HTML), best first, deduplicated.

    ``jitsi_hosts`` names the organization's own Jitsi Meet servers (``meet.example.org`` or
    ``*.meet.example.org``); ``self_hosted`` does the same for any of ``SELF_HOSTED_PROVIDERS``, e.g.
    ``{"bigbluebutton": ["bbb.example.org"]}``.
    """
    if not text or not isinstance(text, str):
        return []
    return _extract(text, source, _hosts(jitsi_hosts, self_hosted))


def _extract(text: str, source: str, hosts: _Hosts) -> list[JoinTarget]:
    if not _MAY_LINK.search(text):
        return []
    plain = _to_text(text)
    cutoff = _quote_cutoff(plain)
    ranked = []
    for match in _CANDIDATE.finditer(plain):
        kind = match.lastgroup or "web"
        cls, found = _candidate(kind, match.group(0), hosts)
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


def _entry_point_target(entry: dict, hosts: _Hosts = _NO_HOSTS) -> JoinTarget | None:
    uri = entry.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        return None
    uri = uri.strip()
    kind = entry.get("entryPointType")
    found: tuple[str, str] | None = None
    if kind == "video":
        uri = _unwrap(uri)
        if re.match(rf"(?i){_APP_SCHEMES}", uri):
            uri = _app_link(uri) or ""
        if not re.match(r"(?i)https?://", uri):
            return None
        found = _classify_web(uri, hosts)
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


def find_join_targets(
    event: dict,
    *,
    jitsi_hosts: Iterable[str] | None = None,
    self_hosted: Mapping[str, Iterable[str]] | None = None,
) -> list[JoinTarget]:
    """Every Join candidate of a Google Calendar Event resource, best first (see the module docstring).

    ``jitsi_hosts`` and ``self_hosted`` name the organization's self-hosted servers, see ``extract_links``.
    """
    if not isinstance(event, dict):
        return []
    hosts = _hosts(jitsi_hosts, self_hosted)
    first: list[JoinTarget] = []
    last: list[JoinTarget] = []
    conference = event.get("conferenceData")
    entry_points = conference.get("entryPoints") if isinstance(conference, dict) else None
    for entry in entry_points if isinstance(entry_points, list) else []:
        if not isinstance(entry, dict):
            continue
        target = _entry_point_target(entry, hosts)
        if target is not None:
            (first if entry.get("entryPointType") == "video" else last).append(target)

    hangout = event.get("hangoutLink")
    if isinstance(hangout, str) and re.match(r"(?i)\s*https?://", hangout):
        found = _classify_web(_unwrap(hangout.strip()), hosts)
        if found is None:
            parts = urlsplit(hangout.strip())
            found = (
                "meet",
                urlunsplit(("https", parts.netloc.lower(), parts.path, parts.query, parts.fragment)),
            )
        first.append(JoinTarget(provider=found[0], url=found[1], source="hangoutLink"))

    for field in ("location", "description"):
        text = event.get(field)
        if text and isinstance(text, str):
            first += _extract(text, field, hosts)
    return _dedupe(first + last)


def find_join_target(
    event: dict,
    *,
    jitsi_hosts: Iterable[str] | None = None,
    self_hosted: Mapping[str, Iterable[str]] | None = None,
) -> JoinTarget | None:
    """The one target the Join button opens, or None when the event has no way in."""
    targets = find_join_targets(event, jitsi_hosts=jitsi_hosts, self_hosted=self_hosted)
    return targets[0] if targets else None
