from pathlib import Path

import pytest

from calendar_sync.sync.joinlinks import (
    PROVIDER_INFO,
    PROVIDERS,
    JoinTarget,
    extract_links,
    find_join_target,
    find_join_targets,
    provider_info,
)

WEBEX_J = "https://acme.webex.com/acme/j.php?MTID=m5f3c0a8d2b7e4c19a6d0e3f1b2c4d5e6"
ZOOM = "https://us02web.zoom.us/j/85012345678?pwd=dGhpcyBpcyBhIHRlc3Q.1"
MEET = "https://meet.google.com/xcb-hfjb-psv"
TEAMS = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjA0ZTYxZDEtYjQ2Ny00ZjU1LWE2MmYtMDk3Y2Y0ZTI2YjQw"
    "%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a"
    "%22a1b2c3d4-0000-4000-8000-1234567890ab%22%7d"
)

MEET_CONFERENCE = {
    "entryPoints": [
        {"entryPointType": "video", "uri": MEET, "label": "meet.google.com/xcb-hfjb-psv"},
        {
            "entryPointType": "phone",
            "uri": "tel:+49-40-8081617300",
            "label": "+49 40 8081617300",
            "pin": "657955248",
            "regionCode": "DE",
        },
        {"entryPointType": "more", "uri": "https://tel.meet/xcb-hfjb-psv?pin=6579552480000"},
    ],
    "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
    "conferenceId": "xcb-hfjb-psv",
}

WEBEX_INVITE = f"""Hello,

Jane Doe is inviting you to this Webex meeting.

Join meeting
{WEBEX_J}

Meeting number (access code): 2551 234 5678
Meeting password: Xy7pQw2a

Join by video system
Dial 25512345678@acme.webex.com
You can also dial 173.243.2.68 and enter your meeting number.

Join by phone
+1-415-655-0001 US Toll
Access code: 255 123 45678

Need help? Go to https://help.webex.com
"""

ZOOM_INVITE = f"""Jane Doe is inviting you to a scheduled Zoom meeting.

Join Zoom Meeting
{ZOOM}

Meeting ID: 850 1234 5678
Passcode: 123456

---
One tap mobile
+16469313860,,85012345678#,,,,*123456# US

Find your local number: https://us02web.zoom.us/u/kdP2x9aBc
"""

TEAMS_INVITE = f"""
________________________________________________________________________________
Microsoft Teams meeting
Join on your computer, mobile app or room device
Click here to join the meeting<{TEAMS}>
Meeting ID: 245 678 901 234
Passcode: AbC9xy
Download Teams<https://www.microsoft.com/en-us/microsoft-teams/download-app> | Join on the web<https://www.microsoft.com/microsoft-teams/join-a-meeting>
Learn More<https://aka.ms/JoinTeamsMeeting> | Meeting options<https://teams.microsoft.com/meetingOptions/?organizerId=a1b2&tenantId=72f9&threadId=19_meeting_NjA0@thread.v2&messageId=0&language=en-US>
________________________________________________________________________________
"""

HTML_GOOGLE = (
    '<p>Agenda: roadmap review</p><br>Join: <a href="https://www.google.com/url?q=https://us02web.zoom.us/j/'
    "85012345678?pwd%3DdGhpcyBpcyBhIHRlc3Q.1&amp;sa=D&amp;source=calendar&amp;ust=1700000000000000&amp;"
    'usg=AOvVaw0abc" target="_blank">https://us02web.zoom.us/j/85012345678?pwd=dGhpcyBpcyBhIHRlc3Q.1</a>'
)

FORWARDED_GMAIL = f"""Moving our sync to Webex, see you there:
{WEBEX_J}

---------- Forwarded message ---------
From: Bob Martin <bob@example.org>
Date: Mon, Mar 3, 2025 at 9:12 AM
Subject: Weekly sync

Join Zoom Meeting
{ZOOM}
"""

FORWARDED_OUTLOOK_TEL_FIRST = f"""Dial in: tel:+1-415-655-0001,,25512345678#

-----Original Message-----
From: Bob Martin
Sent: Monday, March 3, 2025 9:12 AM
To: Team
Subject: Weekly sync

Join Zoom Meeting {ZOOM}
"""

OUTLOOK_HEADER = """Please use the bridge below.
tel:+33-1-70-91-86-46,,123456#

From: Bob Martin <bob@example.org>
Sent: Monday, March 3, 2025 9:12 AM
Subject: Old meeting
https://acme.webex.com/meet/bob
"""

QUOTED_REPLY = f"""New link: sip:room42@video.example.com

On Mon, Mar 3, 2025 at 9:12 AM Bob Martin <bob@example.org> wrote:
> Join Zoom Meeting
> {ZOOM}
"""

HTML_BLOCKQUOTE = (
    '<div>Call me: <a href="tel:+82-2-1234-5678">+82 2 1234 5678</a></div>'
    f'<blockquote class="gmail_quote"><div>Join Zoom Meeting <a href="{ZOOM}">{ZOOM}</a></div></blockquote>'
)

SAFELINK = (
    "Join: https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Facme.webex.com%2Facme%2Fj.php"
    "%3FMTID%3Dm5f3c0a8d2b7e4c19a6d0e3f1b2c4d5e6&data=05%7C02%7Cjdoe%40example.com%7C8f1d%7C72f988bf%7C0"
    "&sdata=abcDEF%2B123%3D&reserved=0 (Webex)"
)

OUTLOOK_HTML_TEAMS = (
    '<html><body><div><span style="font-size:24px">Microsoft Teams meeting</span></div>'
    "<div><b>Join on your computer, mobile app or room device</b></div>"
    f'<a href="{TEAMS}" target="_blank" rel="noreferrer noopener">'
    "<span>Click here to join the meeting</span></a>"
    '<div><a href="https://aka.ms/JoinTeamsMeeting">Learn More</a> | '
    '<a href="https://teams.microsoft.com/meetingOptions/?organizerId=a1b2&amp;tenantId=72f9'
    '&amp;language=en-US">Meeting options</a></div></body></html>'
)


def ev(**fields):
    return {"kind": "calendar#event", "id": "4eahs9ghkhrvkld72hogu9ph3e", "status": "confirmed", **fields}


def T(provider, url, source):
    return JoinTarget(provider=provider, url=url, source=source)


CASES = [
    # --- conferenceData and hangoutLink -------------------------------------------------------------------
    (
        "meet_conference_with_phone",
        ev(hangoutLink=MEET, conferenceData=MEET_CONFERENCE),
        T("meet", MEET, "conferenceData"),
    ),
    (
        "hangout_link_only",
        ev(hangoutLink="https://meet.google.com/abc-defg-hij"),
        T("meet", "https://meet.google.com/abc-defg-hij", "hangoutLink"),
    ),
    (
        "conference_phone_only",
        ev(
            conferenceData={
                "entryPoints": [
                    {"entryPointType": "phone", "uri": "tel:+1-650-555-0100", "pin": "123 456 789"}
                ]
            }
        ),
        T("tel", "tel:+1-650-555-0100,,123456789%23", "conferenceData"),
    ),
    (
        "conference_phone_below_description_link",
        ev(
            conferenceData={"entryPoints": [{"entryPointType": "phone", "uri": "tel:+1-650-555-0100"}]},
            description=f"Join: {ZOOM}",
        ),
        T("zoom", ZOOM, "description"),
    ),
    (
        "conference_webex_addon",
        ev(
            conferenceData={
                "entryPoints": [
                    {"entryPointType": "video", "uri": WEBEX_J, "label": "acme.webex.com"},
                    {"entryPointType": "sip", "uri": "sip:25512345678@acme.webex.com"},
                ],
                "conferenceSolution": {"key": {"type": "addOn"}, "name": "Webex"},
            },
            description=f"Or: {ZOOM}",
        ),
        T("webex", WEBEX_J, "conferenceData"),
    ),
    (
        "conference_unknown_provider",
        ev(
            conferenceData={
                "entryPoints": [{"entryPointType": "video", "uri": "https://Video.Example.org/acme-standup"}]
            }
        ),
        T("other", "https://video.example.org/acme-standup", "conferenceData"),
    ),
    (
        "conference_sip_only",
        ev(conferenceData={"entryPoints": [{"entryPointType": "sip", "uri": "sip:8501234@zoomcrc.com"}]}),
        T("sip", "sip:8501234@zoomcrc.com", "conferenceData"),
    ),
    (
        "conference_pending_create_request",
        ev(
            conferenceData={
                "createRequest": {
                    "requestId": "r1",
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                    "status": {"statusCode": "pending"},
                }
            }
        ),
        None,
    ),
    (
        "conference_beats_hangout_and_text",
        ev(hangoutLink=MEET, conferenceData=MEET_CONFERENCE, location=WEBEX_J, description=ZOOM),
        T("meet", MEET, "conferenceData"),
    ),
    (
        "hangout_beats_location",
        ev(hangoutLink=MEET, location="https://acme.webex.com/meet/jdoe"),
        T("meet", MEET, "hangoutLink"),
    ),
    # --- location vs description ----------------------------------------------------------------------------
    (
        "location_beats_description",
        ev(location="https://acme.webex.com/meet/jdoe", description=ZOOM_INVITE),
        T("webex", "https://acme.webex.com/meet/jdoe", "location"),
    ),
    (
        "location_room_name_only",
        ev(location="Building 5 > Room 301 (12)", description=ZOOM_INVITE),
        T("zoom", ZOOM, "description"),
    ),
    (
        "location_with_room_and_link",
        ev(location="HQ-5-Aurora (8); https://acme.webex.com/meet/jdoe"),
        T("webex", "https://acme.webex.com/meet/jdoe", "location"),
    ),
    ("nothing_at_all", ev(summary="Lunch", location="Cafeteria", description="Bring snacks."), None),
    ("empty_event", {}, None),
    ("keyword_only", ev(location="@webex"), None),
    # --- Webex ---------------------------------------------------------------------------------------------
    ("webex_invite_text", ev(description=WEBEX_INVITE), T("webex", WEBEX_J, "description")),
    (
        "webex_personal_room",
        ev(description="My room: https://acme.webex.com/meet/jane.doe."),
        T("webex", "https://acme.webex.com/meet/jane.doe", "description"),
    ),
    (
        "webex_join_path",
        ev(location="https://acme.webex.com/join/jdoe"),
        T("webex", "https://acme.webex.com/join/jdoe", "location"),
    ),
    (
        "webex_joinservice",
        ev(
            description="Join https://acme.webex.com/wbxmjs/joinservice/sites/acme/meeting/"
            "download/5f3c0a8d2b7e4c19a6d0e3f1b2c4d5e6?siteurl=acme&MTID=m5f3c"
        ),
        T(
            "webex",
            "https://acme.webex.com/wbxmjs/joinservice/sites/acme/meeting/download/"
            "5f3c0a8d2b7e4c19a6d0e3f1b2c4d5e6?siteurl=acme&MTID=m5f3c",
            "description",
        ),
    ),
    (
        "webex_sip_only",
        ev(location="Video system: 25512345678@acme.webex.com"),
        T("webex", "sip:25512345678@acme.webex.com", "location"),
    ),
    (
        "webex_sip_uri",
        ev(description="Dial sip:jdoe@Acme.WebEx.com from a room"),
        T("webex", "sip:jdoe@acme.webex.com", "description"),
    ),
    (
        "webex_marketing_link_is_not_a_meeting",
        ev(
            description=(
                "Get the app: https://www.webex.com/downloads.html, tips at https://help.webex.com/en-us/article/"
                "nkj4w2n/Join-a-Webex-meeting and https://www.webex.com/meet/ideas"
            )
        ),
        None,
    ),
    (
        "webex_globalcallin_is_not_a_join_link",
        ev(
            description=(
                "Global call-in numbers: https://acme.webex.com/acme/globalcallin.php?MTID=m5f3c\n"
                "Join: https://acme.webex.com/meet/jdoe"
            )
        ),
        T("webex", "https://acme.webex.com/meet/jdoe", "description"),
    ),
    (
        "uppercase_host",
        ev(location="HTTPS://ACME.WEBEX.COM/acme/j.php?MTID=m5f3c0a8d2b7e4c19a6d0e3f1b2c4d5e6"),
        T("webex", WEBEX_J, "location"),
    ),
    # --- Zoom ----------------------------------------------------------------------------------------------
    ("zoom_invite_text", ev(description=ZOOM_INVITE), T("zoom", ZOOM, "description")),
    (
        "zoom_personal_link",
        ev(location="zoom.us/my/jane.doe"),
        T("zoom", "https://zoom.us/my/jane.doe", "location"),
    ),
    (
        "zoomgov",
        ev(description="Join: https://agency.zoomgov.com/j/1601234567?pwd=QWxhZGRpbjpvcGVu!"),
        T("zoom", "https://agency.zoomgov.com/j/1601234567?pwd=QWxhZGRpbjpvcGVu", "description"),
    ),
    (
        "zoom_download_is_not_a_meeting",
        ev(description="Install first: https://zoom.us/download, then wait."),
        None,
    ),
    (
        "zoom_webinar",
        ev(description="Webinar (https://zoom.us/w/98765432101?tk=abc)."),
        T("zoom", "https://zoom.us/w/98765432101?tk=abc", "description"),
    ),
    (
        "zoom_uppercase_host_http",
        ev(location="http://US02WEB.ZOOM.US/j/85012345678"),
        T("zoom", "https://us02web.zoom.us/j/85012345678", "location"),
    ),
    # --- Google Meet ---------------------------------------------------------------------------------------
    (
        "meet_in_description",
        ev(description="Rejoindre : meet.google.com/abc-defg-hij ou par téléphone"),
        T("meet", "https://meet.google.com/abc-defg-hij", "description"),
    ),
    (
        "meet_without_code_is_not_a_meeting",
        ev(
            description="We use https://meet.google.com/ for calls; "
            "see https://support.google.com/meet/answer/9302870"
        ),
        None,
    ),
    (
        "meet_query_dropped",
        ev(description="https://meet.google.com/ABC-defg-hij?authuser=1&hs=122"),
        T("meet", "https://meet.google.com/abc-defg-hij", "description"),
    ),
    # --- Teams ---------------------------------------------------------------------------------------------
    ("teams_invite_text", ev(description=TEAMS_INVITE), T("teams", TEAMS, "description")),
    ("teams_outlook_html", ev(description=OUTLOOK_HTML_TEAMS), T("teams", TEAMS, "description")),
    (
        "teams_live",
        ev(location="https://teams.live.com/meet/9387654321?p=AbCdEf"),
        T("teams", "https://teams.live.com/meet/9387654321?p=AbCdEf", "location"),
    ),
    (
        "teams_help_links_only",
        ev(
            description="Learn More<https://aka.ms/JoinTeamsMeeting> | Meeting options"
            "<https://teams.microsoft.com/meetingOptions/?organizerId=a1b2>"
        ),
        None,
    ),
    # --- Text handling traps -------------------------------------------------------------------------------
    ("trailing_punctuation", ev(description=f"Join here: {ZOOM}."), T("zoom", ZOOM, "description")),
    (
        "trailing_semicolon_quote",
        ev(description='link="https://acme.webex.com/meet/jdoe"; ok'),
        T("webex", "https://acme.webex.com/meet/jdoe", "description"),
    ),
    (
        "parenthesised",
        ev(description="(see https://acme.webex.com/meet/jdoe)"),
        T("webex", "https://acme.webex.com/meet/jdoe", "description"),
    ),
    (
        "balanced_parentheses_kept",
        ev(description="Join [https://acme.webex.com/join/team_(blue)]!"),
        T("webex", "https://acme.webex.com/join/team_(blue)", "description"),
    ),
    (
        "angle_brackets",
        ev(description="Join Webex meeting <https://acme.webex.com/meet/jdoe>\nThanks"),
        T("webex", "https://acme.webex.com/meet/jdoe", "description"),
    ),
    (
        "html_anchor_amp",
        ev(
            description=(
                '<a href="https://acme.webex.com/acme/j.php?MTID=m5f3c&amp;from=calendar">Join meeting</a>'
            )
        ),
        T("webex", "https://acme.webex.com/acme/j.php?MTID=m5f3c&from=calendar", "description"),
    ),
    ("google_safe_redirect_html", ev(description=HTML_GOOGLE), T("zoom", ZOOM, "description")),
    (
        "google_safe_redirect_plain",
        ev(
            location="https://www.google.com/url?q=https://acme.webex.com/meet/jdoe"
            "&sa=D&source=calendar&usg=AOvVaw1"
        ),
        T("webex", "https://acme.webex.com/meet/jdoe", "location"),
    ),
    ("outlook_safelinks", ev(description=SAFELINK), T("webex", WEBEX_J, "description")),
    (
        "two_providers_first_wins",
        ev(description=f"Primary: {TEAMS}\nBackup: {ZOOM}"),
        T("teams", TEAMS, "description"),
    ),
    (
        "provider_beats_earlier_sip_and_tel",
        ev(
            description=(
                "Room: sip:board@video.example.com, phone tel:+1-555-0100\nWeb: https://acme.webex.com/meet/jdoe"
            )
        ),
        T("webex", "https://acme.webex.com/meet/jdoe", "description"),
    ),
    (
        "sip_beats_tel",
        ev(description="tel:+1-555-0100 or sip:board@Video.Example.com."),
        T("sip", "sip:board@video.example.com", "description"),
    ),
    (
        "tel_with_pin",
        ev(location="Bridge tel:+1-415-655-0001,,25512345678#"),
        T("tel", "tel:+1-415-655-0001,,25512345678#", "location"),
    ),
    (
        "korean_text_around_link",
        ev(description="회의 참가: https://acme.webex.com/meet/jdoe에서 접속하세요."),
        T("webex", "https://acme.webex.com/meet/jdoe", "description"),
    ),
    ("mailto_is_not_sip", ev(description="Questions: mailto:jdoe@acme.webex.com"), None),
    (
        "entity_without_semicolon_kept",
        ev(description="https://zoom.us/j/85012345678?pwd=abc&copy=1"),
        T("zoom", "https://zoom.us/j/85012345678?pwd=abc&copy=1", "description"),
    ),
    # --- Forwarded / quoted threads ------------------------------------------------------------------------
    ("forwarded_zoom_below_webex", ev(description=FORWARDED_GMAIL), T("webex", WEBEX_J, "description")),
    (
        "forwarded_only_link_still_found",
        ev(description=FORWARDED_GMAIL.replace(WEBEX_J, "(link to follow)")),
        T("zoom", ZOOM, "description"),
    ),
    (
        "original_message_ranks_below_tel",
        ev(description=FORWARDED_OUTLOOK_TEL_FIRST),
        T("tel", "tel:+1-415-655-0001,,25512345678#", "description"),
    ),
    (
        "outlook_from_sent_header",
        ev(description=OUTLOOK_HEADER),
        T("tel", "tel:+33-1-70-91-86-46,,123456#", "description"),
    ),
    (
        "quoted_reply_lines",
        ev(description=QUOTED_REPLY),
        T("sip", "sip:room42@video.example.com", "description"),
    ),
    ("html_blockquote", ev(description=HTML_BLOCKQUOTE), T("tel", "tel:+82-2-1234-5678", "description")),
    (
        "french_forward",
        ev(
            description=(
                "Voici le lien : https://acme.webex.com/meet/jdoe\n\n---------- Message transféré ---------\n"
                f"De : Bob\n{ZOOM}"
            )
        ),
        T("webex", "https://acme.webex.com/meet/jdoe", "description"),
    ),
]


@pytest.mark.parametrize(("event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_find_join_target(event, expected):
    assert find_join_target(event) == expected


def test_case_table_is_large_enough():
    assert len(CASES) >= 45


def test_find_join_targets_lists_all_candidates_in_order():
    event = ev(
        hangoutLink=MEET,
        conferenceData=MEET_CONFERENCE,
        location="https://acme.webex.com/meet/jdoe",
        description=f"{ZOOM}\nor {MEET}",
    )
    assert find_join_targets(event) == [
        T("meet", MEET, "conferenceData"),
        T("webex", "https://acme.webex.com/meet/jdoe", "location"),
        T("zoom", ZOOM, "description"),
        T("tel", "tel:+49-40-8081617300,,657955248%23", "conferenceData"),
    ]


def test_webex_invite_lists_https_then_sip():
    assert extract_links(WEBEX_INVITE) == [
        T("webex", WEBEX_J, "description"),
        T("webex", "sip:25512345678@acme.webex.com", "description"),
    ]


def test_forwarded_links_rank_last():
    assert [t.provider for t in extract_links(FORWARDED_OUTLOOK_TEL_FIRST)] == ["tel", "zoom"]


def test_extract_links_source_and_empty_input():
    assert extract_links("https://zoom.us/my/jdoe", source="location") == [
        T("zoom", "https://zoom.us/my/jdoe", "location")
    ]
    assert extract_links("") == []
    assert extract_links(None) == []


# --- every service: (id, text, expected provider, expected url); provider None = not a join link ------------
SERVICE_CASES = [
    # Webex
    ("webex_meet", "https://acme.webex.com/meet/jdoe", "webex", "https://acme.webex.com/meet/jdoe"),
    (
        "webex_event",
        "https://acme.webex.com/acme/e.php?MTID=e1a2b3",
        "webex",
        "https://acme.webex.com/acme/e.php?MTID=e1a2b3",
    ),
    ("webex_no_site", "https://www.webex.com/meet/jdoe", None, None),
    ("webex_j_without_mtid", "https://acme.webex.com/acme/j.php", None, None),
    # Zoom
    ("zoom_join", "https://zoom.us/j/91234567890?pwd=abc", "zoom", "https://zoom.us/j/91234567890?pwd=abc"),
    (
        "zoom_web_client",
        "https://app.zoom.us/wc/join/91234567890",
        "zoom",
        "https://app.zoom.us/wc/join/91234567890",
    ),
    (
        "zoom_x",
        "https://any-client.zoom-x.de/j/65194487075",
        "zoom",
        "https://any-client.zoom-x.de/j/65194487075",
    ),
    (
        "zoom_events",
        "https://events.zoom.us/ejl/AbC-dEf/join",
        "zoom",
        "https://events.zoom.us/ejl/AbC-dEf/join",
    ),
    ("zoomgov_personal", "https://zoomgov.com/my/person", "zoom", "https://zoomgov.com/my/person"),
    (
        "zoommtg_app_link",
        "zoommtg://us02web.zoom.us/join?action=join&confno=85012345678&pwd=s3cr3t",
        "zoom",
        "https://us02web.zoom.us/j/85012345678?pwd=s3cr3t",
    ),
    ("zoommtg_start_is_not_a_join", "zoommtg://zoom.us/start?confno=85012345678&zak=tok", None, None),
    ("zoom_start_link_is_the_hosts", "https://us02web.zoom.us/s/85012345678?zak=eyJ0", None, None),
    (
        "zoom_marketing",
        "https://zoom.us/pricing and https://support.zoom.us/hc/en-us/articles/201362193",
        None,
        None,
    ),
    ("zoom_short_id", "https://zoom.us/j/12345", None, None),
    ("zoom_recording", "https://us02web.zoom.us/rec/share/AbCdEf", None, None),
    # Google Meet
    ("meet_code", "https://meet.google.com/abc-defg-hij", "meet", "https://meet.google.com/abc-defg-hij"),
    (
        "meet_underscore_path",
        "https://meet.google.com/_meet/abc-defg-hij?ijlm=1",
        "meet",
        "https://meet.google.com/abc-defg-hij",
    ),
    (
        "meet_lookup",
        "https://meet.google.com/lookup/TeamSync",
        "meet",
        "https://meet.google.com/lookup/TeamSync",
    ),
    (
        "meet_stream",
        "https://stream.meet.google.com/stream/abc12ab1-abc1-1234-123a-a1234a1abc12",
        "meet",
        "https://stream.meet.google.com/stream/abc12ab1-abc1-1234-123a-a1234a1abc12",
    ),
    ("meet_landing", "https://meet.google.com/landing and https://meet.google.com/new", None, None),
    ("meet_phone_page", "https://tel.meet/xcb-hfjb-psv?pin=6579552480000", None, None),
    # Microsoft Teams
    (
        "teams_short_link",
        "https://teams.microsoft.com/meet/2345678901234?p=AbCdEf",
        "teams",
        "https://teams.microsoft.com/meet/2345678901234?p=AbCdEf",
    ),
    (
        "teams_live_short",
        "https://teams.live.com/meet/9387654321",
        "teams",
        "https://teams.live.com/meet/9387654321",
    ),
    (
        "teams_gcc",
        "https://gov.teams.microsoft.us/l/meetup-join/abc?context=xyz",
        "teams",
        "https://gov.teams.microsoft.us/l/meetup-join/abc?context=xyz",
    ),
    (
        "teams_cloud_microsoft",
        "https://teams.cloud.microsoft/meet/2345678901234?p=Xy",
        "teams",
        "https://teams.cloud.microsoft/meet/2345678901234?p=Xy",
    ),
    (
        "teams_app_link",
        "msteams:/l/meetup-join/19%3ameeting_abc%40thread.v2/0",
        "teams",
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0",
    ),
    (
        "teams_new_meeting_and_channel",
        "https://teams.microsoft.com/l/meeting/new and "
        "https://teams.microsoft.com/meet/channel?p=Aa1 and https://teams.microsoft.com/l/channel/19%3a1/General",
        None,
        None,
    ),
    # Amazon Chime
    ("chime_id", "https://chime.aws/1234567890", "chime", "https://chime.aws/1234567890"),
    (
        "chime_app_pin",
        "https://app.chime.aws/meetings/?pin=1234567890",
        "chime",
        "https://app.chime.aws/meetings/?pin=1234567890",
    ),
    (
        "chime_pages",
        "https://chime.aws/download and https://aws.amazon.com/chime/ and https://app.chime.aws/",
        None,
        None,
    ),
    # GoTo Meeting / GoTo Webinar
    (
        "goto_global",
        "https://global.gotomeeting.com/join/123456789",
        "gotomeeting",
        "https://global.gotomeeting.com/join/123456789",
    ),
    ("goto_meet", "https://meet.goto.com/123456789", "gotomeeting", "https://meet.goto.com/123456789"),
    ("goto_personal_room", "https://meet.goto.com/jane-doe", "gotomeeting", "https://meet.goto.com/jane-doe"),
    (
        "goto_pages",
        "https://www.goto.com/meeting and https://meet.goto.com/install and "
        "https://support.goto.com/meeting/help",
        None,
        None,
    ),
    (
        "gotowebinar_join",
        "https://global.gotowebinar.com/join/1234567890123456789/987654321",
        "gotowebinar",
        "https://global.gotowebinar.com/join/1234567890123456789/987654321",
    ),
    ("gotowebinar_register", "https://attendee.gotowebinar.com/register/1234567890123456789", None, None),
    # BlueJeans
    (
        "bluejeans_id",
        "https://bluejeans.com/123456789/1234",
        "bluejeans",
        "https://bluejeans.com/123456789/1234",
    ),
    (
        "bluejeans_pages",
        "https://www.bluejeans.com/downloads and https://support.bluejeans.com/s/",
        None,
        None,
    ),
    # Whereby
    ("whereby_room", "https://whereby.com/acme-standup", "whereby", "https://whereby.com/acme-standup"),
    (
        "whereby_subdomain",
        "https://acme.whereby.com/design-review",
        "whereby",
        "https://acme.whereby.com/design-review",
    ),
    (
        "whereby_pages",
        "https://whereby.com/information/pricing, https://whereby.com/pricing, "
        "https://docs.whereby.com/reference and https://whereby.com/",
        None,
        None,
    ),
    # Jitsi
    ("jitsi_public", "https://meet.jit.si/AcmeWeeklySync", "jitsi", "https://meet.jit.si/AcmeWeeklySync"),
    (
        "jitsi_config_fragment",
        "https://meet.jit.si/AcmeSync#config.startWithAudioMuted=true",
        "jitsi",
        "https://meet.jit.si/AcmeSync#config.startWithAudioMuted=true",
    ),
    (
        "jitsi_jaas",
        "https://8x8.vc/vpaas-magic-cookie-0123abcd/AcmeRoom",
        "jitsi",
        "https://8x8.vc/vpaas-magic-cookie-0123abcd/AcmeRoom",
    ),
    (
        "jitsi_pages",
        "https://jitsi.org/jitsi-meet/ and https://meet.jit.si/ and "
        "https://meet.jit.si/external_api.js and https://meet.jit.si/static/close.html",
        None,
        None,
    ),
    # 8x8
    ("eight_by_eight_room", "https://8x8.vc/acme/jane.doe", "8x8", "https://8x8.vc/acme/jane.doe"),
    (
        "eight_by_eight_pages",
        "https://www.8x8.com/products/video-conferencing and https://8x8.vc/",
        None,
        None,
    ),
    # BigBlueButton / Greenlight
    (
        "bbb_greenlight_v3",
        "https://bbb.example.edu/rooms/abc-d3f-gh1-jkl/join",
        "bigbluebutton",
        "https://bbb.example.edu/rooms/abc-d3f-gh1-jkl/join",
    ),
    (
        "bbb_greenlight_v2",
        "http://demo.bigbluebutton.org/gl/jan-x7k-9pq",
        "bigbluebutton",
        "http://demo.bigbluebutton.org/gl/jan-x7k-9pq",
    ),
    (
        "bbb_api_join",
        "https://bbb.example.edu/bigbluebutton/api/join?fullName=Ana&meetingID=m1&role=VIEWER"
        "&checksum=1234567890abcdef1234567890abcdef12345678",
        "bigbluebutton",
        "https://bbb.example.edu/bigbluebutton/api/join?fullName=Ana&meetingID=m1&role=VIEWER"
        "&checksum=1234567890abcdef1234567890abcdef12345678",
    ),
    (
        "bbb_moodle",
        "https://moodle.example.edu/mod/bigbluebuttonbn/view.php?id=42",
        "bigbluebutton",
        "https://moodle.example.edu/mod/bigbluebuttonbn/view.php?id=42",
    ),
    (
        "bbb_pages",
        "https://bigbluebutton.org/teachers/ and https://docs.bigbluebutton.org/greenlight/v3/install "
        "and https://bbb.example.edu/bigbluebutton/api/create?name=x",
        None,
        None,
    ),
    # Skype for Business Server / Lync (consumer Skype and Skype for Business Online are retired)
    (
        "sfb_simple_url",
        "https://meet.contoso.com/jdoe/5KTDNF7S",
        "skype",
        "https://meet.contoso.com/jdoe/5KTDNF7S",
    ),
    (
        "sfb_pool_url",
        "https://lyncpool.contoso.com/meet/jane.doe/ABCD1234",
        "skype",
        "https://lyncpool.contoso.com/meet/jane.doe/ABCD1234",
    ),
    (
        "skype_retired",
        "https://join.skype.com/ABCdefGHijkl and https://meet.lync.com/contoso/jdoe/ABCD1234",
        None,
        None,
    ),
    # Slack huddles
    (
        "slack_huddle",
        "https://app.slack.com/huddle/T01ABCDEFGH/C02ABCDEFGH",
        "slack",
        "https://app.slack.com/huddle/T01ABCDEFGH/C02ABCDEFGH",
    ),
    (
        "slack_channel",
        "https://acme.slack.com/archives/C02ABCDEFGH and https://slack.com/help/articles/4402059015315",
        None,
        None,
    ),
    # RingCentral
    (
        "ringcentral_video",
        "https://v.ringcentral.com/join/123456789?pw=0a1b2c",
        "ringcentral",
        "https://v.ringcentral.com/join/123456789?pw=0a1b2c",
    ),
    (
        "ringcentral_meetings",
        "https://meetings.ringcentral.com/j/1234567890",
        "ringcentral",
        "https://meetings.ringcentral.com/j/1234567890",
    ),
    (
        "ringcentral_pages",
        "https://www.ringcentral.com/download.html and https://v.ringcentral.com/teleconference/",
        None,
        None,
    ),
    # Lifesize
    (
        "lifesize_call",
        "https://call.lifesizecloud.com/1234567",
        "lifesize",
        "https://call.lifesizecloud.com/1234567",
    ),
    (
        "lifesize_pages",
        "https://www.lifesize.com/en/video-conferencing-app and https://call.lifesizecloud.com/login",
        None,
        None,
    ),
    # Vonage
    (
        "vonage_meeting",
        "https://meetings.vonage.com/123456789",
        "vonage",
        "https://meetings.vonage.com/123456789",
    ),
    (
        "vonage_pages",
        "https://www.vonage.com/unified-communications/features/video-conferencing/",
        None,
        None,
    ),
    # Zoho
    (
        "zoho_join",
        "https://meeting.zoho.eu/meeting/join?key=1234567890",
        "zoho",
        "https://meeting.zoho.eu/meeting/join?key=1234567890",
    ),
    (
        "zoho_cliq",
        "https://cliq.zoho.eu/meetings/alsfsma213",
        "zoho",
        "https://cliq.zoho.eu/meetings/alsfsma213",
    ),
    (
        "zoho_pages",
        "https://www.zoho.com/meeting/pricing.html and https://meeting.zoho.com/meeting/home",
        None,
        None,
    ),
    # Gather
    (
        "gather_space",
        "https://app.gather.town/app/1a2S3d4F5G/Acme%20Office?spawnToken=abc",
        "gather",
        "https://app.gather.town/app/1a2S3d4F5G/Acme%20Office?spawnToken=abc",
    ),
    ("gather_pages", "https://www.gather.town/pricing and https://support.gather.town/hc/en-us", None, None),
    # Livestorm
    (
        "livestorm_live",
        "https://app.livestorm.co/p/cc113fd5-5de1-4061-ba74-85c489253033/live?s=0231a8fb",
        "livestorm",
        "https://app.livestorm.co/p/cc113fd5-5de1-4061-ba74-85c489253033/live?s=0231a8fb",
    ),
    (
        "livestorm_registration",
        "https://app.livestorm.co/p/cc113fd5-5de1-4061-ba74-85c489253033/form",
        None,
        None,
    ),
    # Dialpad Meetings (UberConference)
    (
        "dialpad_room",
        "https://meetings.dialpad.com/room/acme-sales",
        "dialpad",
        "https://meetings.dialpad.com/room/acme-sales",
    ),
    (
        "uberconference_room",
        "https://www.uberconference.com/janedoe",
        "dialpad",
        "https://www.uberconference.com/janedoe",
    ),
    ("dialpad_pages", "https://www.dialpad.com/meetings/ and https://help.dialpad.com/docs", None, None),
    # Tuple
    ("tuple_call", "https://tuple.app/c/V1StGXR8_Z5jdHi6B", "tuple", "https://tuple.app/c/V1StGXR8_Z5jdHi6B"),
    ("tuple_pages", "https://tuple.app/pricing and https://tuple.app/downloads", None, None),
    # Pop
    ("pop_join", "https://pop.com/j/810-218-630", "pop", "https://pop.com/j/810-218-630"),
    ("pop_pages", "https://pop.com/download", None, None),
    # Around
    ("around_room", "https://meet.around.co/r/kyafvk1b", "around", "https://meet.around.co/r/kyafvk1b"),
    ("around_pages", "https://around.co/pricing", None, None),
    # Cal Video
    (
        "cal_video",
        "https://app.cal.com/video/1de4BmdXEb983kIUHomUnA",
        "calvideo",
        "https://app.cal.com/video/1de4BmdXEb983kIUHomUnA",
    ),
    (
        "cal_booking_page",
        "Book a slot: https://cal.com/jdoe/30min or https://app.cal.com/bookings/upcoming",
        None,
        None,
    ),
    # LiveKit
    (
        "livekit_room",
        "https://meet.livekit.io/rooms/et5r-y80t#r56ryirofs8jj",
        "livekit",
        "https://meet.livekit.io/rooms/et5r-y80t#r56ryirofs8jj",
    ),
    (
        "livekit_pages",
        "https://docs.livekit.io/home/ and https://livekit.io/pricing and https://meet.livekit.io/",
        None,
        None,
    ),
    # TeamViewer Meeting
    (
        "teamviewer_meeting",
        "https://go.teamviewer.com/m12345678",
        "teamviewer",
        "https://go.teamviewer.com/m12345678",
    ),
    (
        "teamviewer_support_session",
        "https://go.teamviewer.com/s12345678 and https://www.teamviewer.com/en/download/",
        None,
        None,
    ),
    # FaceTime
    (
        "facetime_link",
        "https://facetime.apple.com/join#v=1&p=AeVKu1rGEeyppwJC8kftBg&k=FrCNneouFgL26V",
        "facetime",
        "https://facetime.apple.com/join#v=1&p=AeVKu1rGEeyppwJC8kftBg&k=FrCNneouFgL26V",
    ),
    ("facetime_pages", "https://support.apple.com/facetime and https://facetime.apple.com/join", None, None),
    # Discord
    (
        "discord_event",
        "https://discord.com/events/123456789012345678/987654321098765432",
        "discord",
        "https://discord.com/events/123456789012345678/987654321098765432",
    ),
    ("discord_invite", "https://discord.gg/acme", "discord", "https://discord.gg/acme"),
    (
        "discord_pages",
        "https://discord.com/download and https://support.discord.com/hc/en-us and "
        "https://discord.com/channels/@me",
        None,
        None,
    ),
    # Vimeo
    ("vimeo_event", "https://vimeo.com/event/1234567", "vimeo", "https://vimeo.com/event/1234567"),
    ("vimeo_video", "Last week's recording: https://vimeo.com/123456789", None, None),
    # YouTube live
    (
        "youtube_live",
        "https://www.youtube.com/live/dQw4w9WgXcQ?si=abc",
        "youtube",
        "https://www.youtube.com/live/dQw4w9WgXcQ?si=abc",
    ),
    ("youtube_channel_live", "https://youtube.com/@acme/live", "youtube", "https://youtube.com/@acme/live"),
    (
        "youtube_video",
        "Watch first: https://www.youtube.com/watch?v=dQw4w9WgXcQ and https://youtu.be/dQw4w9WgXcQ",
        None,
        None,
    ),
    # StreamYard
    (
        "streamyard_guest",
        "https://streamyard.com/guest/u6qes7i8cj?utm_source=test",
        "streamyard",
        "https://streamyard.com/guest/u6qes7i8cj?utm_source=test",
    ),
    (
        "streamyard_code",
        "https://streamyard.com/jexample29t",
        "streamyard",
        "https://streamyard.com/jexample29t",
    ),
    ("streamyard_pages", "https://streamyard.com/pricing and https://streamyard.com/resources", None, None),
    # Demodesk
    ("demodesk_meeting", "https://demodesk.com/NGYLHDWO", "demodesk", "https://demodesk.com/NGYLHDWO"),
    ("demodesk_pages", "https://demodesk.com/pricing and https://demodesk.com/book/acme/demo", None, None),
    # Zhumu
    (
        "zhumu_join",
        "https://welink.zhumu.com/j/154051242?pwd=abc123",
        "zhumu",
        "https://welink.zhumu.com/j/154051242?pwd=abc123",
    ),
    ("zhumu_pages", "https://welink.zhumu.com/download and https://welink.zhumu.com/j/", None, None),
    # Lark / Feishu
    ("lark_join", "https://vc.larksuite.com/j/123456789", "lark", "https://vc.larksuite.com/j/123456789"),
    ("lark_pages", "https://www.larksuite.com/hc/en-US/articles/360048488339", None, None),
    ("feishu_join", "https://vc.feishu.cn/j/123456789", "feishu", "https://vc.feishu.cn/j/123456789"),
    ("feishu_pages", "https://www.feishu.cn/download and https://vc.feishu.cn/", None, None),
    # Tencent VooV Meeting
    ("voov_join", "https://voovmeeting.com/dm/AbCdEfGh12", "voov", "https://voovmeeting.com/dm/AbCdEfGh12"),
    (
        "tencent_meeting",
        "https://meeting.tencent.com/dm/XyZ12345",
        "voov",
        "https://meeting.tencent.com/dm/XyZ12345",
    ),
    ("voov_pages", "https://voovmeeting.com/download-center.html", None, None),
    # Workplace
    (
        "workplace_call",
        "https://acme.workplace.com/groupcall/LINK:abc123?token=x",
        "workplace",
        "https://acme.workplace.com/groupcall/LINK:abc123?token=x",
    ),
    ("workplace_pages", "https://workplace.com/home and https://www.workplace.com/pricing", None, None),
    # Pexip
    (
        "pexip_webapp",
        "https://pexip.example.com/webapp/m/meet.alice",
        "pexip",
        "https://pexip.example.com/webapp/m/meet.alice",
    ),
    (
        "pexip_conference_query",
        "https://video.example.com/webapp/#/?conference=meet.alice&pin=1234",
        "pexip",
        "https://video.example.com/webapp/#/?conference=meet.alice&pin=1234",
    ),
    ("pexip_pages", "https://www.pexip.com/products and https://docs.pexip.com/admin/webapp.htm", None, None),
    # Jam
    ("jam_room", "https://jam.systems/acme-standup", "jam", "https://jam.systems/acme-standup"),
    ("jam_other_product", "Bug report: https://jam.dev/c/0b1c2d3e", None, None),
    # Chorus
    ("chorus_bridge", "https://go.chorus.ai/1234567890", "chorus", "https://go.chorus.ai/1234567890"),
    ("chorus_pages", "https://www.chorus.ai/pricing", None, None),
    # Proton Meet
    (
        "proton_meet",
        "https://meet.proton.me/join/id-FRMQ717ZMW#pwd-GoslDQl8D7mu",
        "proton",
        "https://meet.proton.me/join/id-FRMQ717ZMW#pwd-GoslDQl8D7mu",
    ),
    ("proton_pages", "https://proton.me/meet", None, None),
    # Gong
    ("gong_join", "https://join.gong.io/acme/ryker.morgan", "gong", "https://join.gong.io/acme/ryker.morgan"),
    ("gong_pages", "https://www.gong.io/platform/", None, None),
    # Demio
    ("demio_ref", "https://event.demio.com/ref/AbC123dEf", "demio", "https://event.demio.com/ref/AbC123dEf"),
    ("demio_pages", "https://www.demio.com/pricing", None, None),
    # Riverside
    (
        "riverside_studio",
        "https://riverside.fm/studio/acme-podcast",
        "riverside",
        "https://riverside.fm/studio/acme-podcast",
    ),
    ("riverside_pages", "https://riverside.fm/pricing", None, None),
    # Pumble
    (
        "pumble_meeting",
        "https://meet.pumble.com/vly-hggs-xsn",
        "pumble",
        "https://meet.pumble.com/vly-hggs-xsn",
    ),
    ("pumble_pages", "https://pumble.com/pricing", None, None),
    # Doxy.me
    ("doxyme_room", "https://bbc.doxy.me/dr.who", "doxyme", "https://bbc.doxy.me/dr.who"),
    ("doxyme_pages", "https://doxy.me/en/pricing/ and https://help.doxy.me/en/", None, None),
    # Blackboard Collaborate
    (
        "bbcollab_guest",
        "https://us.bbcollab.com/guest/C2419D0F68382D351B97376D6B47ABA2",
        "bbcollab",
        "https://us.bbcollab.com/guest/C2419D0F68382D351B97376D6B47ABA2",
    ),
    ("bbcollab_pages", "https://help.blackboard.com/Collaborate and https://us.bbcollab.com/", None, None),
    # Meetecho
    (
        "meetecho_session",
        "https://meetings.conf.meetecho.com/ietf122/?session=34071",
        "meetecho",
        "https://meetings.conf.meetecho.com/ietf122/?session=34071",
    ),
    ("meetecho_pages", "https://meetings.conf.meetecho.com/ietf122/", None, None),
    # Adobe Connect
    (
        "adobeconnect_room",
        "https://acme.adobeconnect.com/weekly-sync/",
        "adobeconnect",
        "https://acme.adobeconnect.com/weekly-sync/",
    ),
    (
        "adobeconnect_pages",
        "https://acme.adobeconnect.com/admin/meeting and https://www.adobe.com/products/adobeconnect.html",
        None,
        None,
    ),
    # Daily
    ("daily_room", "https://acme.daily.co/standup", "daily", "https://acme.daily.co/standup"),
    ("daily_pages", "https://docs.daily.co/guides and https://www.daily.co/pricing", None, None),
    # Nextcloud Talk
    (
        "nextcloud_call",
        "https://cloud.example.org/index.php/call/a1b2c3d4",
        "nextcloud",
        "https://cloud.example.org/index.php/call/a1b2c3d4",
    ),
    (
        "nextcloud_pretty_url",
        "https://cloud.example.org/call/x7k2m9qp",
        "nextcloud",
        "https://cloud.example.org/call/x7k2m9qp",
    ),
    ("nextcloud_pages", "https://nextcloud.com/talk/ and https://shop.example.com/call/schedule", None, None),
]


@pytest.mark.parametrize(
    ("text", "provider", "url"), [c[1:] for c in SERVICE_CASES], ids=[c[0] for c in SERVICE_CASES]
)
def test_service_link(text, provider, url):
    found = extract_links(text)
    if provider is None:
        assert found == []
    else:
        assert found[:1] == [T(provider, url, "description")]


def test_every_service_has_a_positive_and_a_negative_case():
    # The table is grouped by service, positive cases first: a negative case belongs to the service above it.
    positive, negative = set(), set()
    service = None
    for _, _, provider, _ in SERVICE_CASES:
        if provider:
            service = provider
            positive.add(provider)
        else:
            negative.add(service)
    services = set(PROVIDERS) - {"sip", "tel", "other"}
    assert services - positive == set()
    assert services - negative == set()


def test_every_provider_has_a_name_and_an_icon():
    import xml.etree.ElementTree as ET

    static = Path(__file__).resolve().parents[2] / "static"
    for provider_id in PROVIDERS:
        info = provider_info(provider_id)
        assert info.id == provider_id and info.name
        assert len(provider_id) <= 20  # Meeting.join_provider
        icon = static / info.icon
        assert icon.is_file(), icon
        root = ET.fromstring(icon.read_text())
        assert root.get("viewBox") == "0 0 24 24"
    assert provider_info("something-new") == PROVIDER_INFO["other"]


def test_jitsi_hosts_of_the_organization():
    text = "Standup: https://meet.acme.org/DailyStandup"
    assert extract_links(text) == []
    assert extract_links(text, jitsi_hosts=["meet.acme.org"]) == [
        T("jitsi", "https://meet.acme.org/DailyStandup", "description")
    ]
    assert extract_links(text, jitsi_hosts=["https://MEET.ACME.ORG/"]) == extract_links(
        text, jitsi_hosts=("meet.acme.org",)
    )
    assert extract_links("http://video.eu.acme.org/acme/Board", jitsi_hosts=["*.acme.org"]) == [
        T("jitsi", "http://video.eu.acme.org/acme/Board", "description")
    ]
    assert extract_links("https://meet.acme.org/static/close.html", jitsi_hosts=["meet.acme.org"]) == []
    event = ev(location="https://meet.acme.org/Board", description=ZOOM)
    assert find_join_target(event, jitsi_hosts=["meet.acme.org"]) == T(
        "jitsi", "https://meet.acme.org/Board", "location"
    )
    assert find_join_target(event) == T("zoom", ZOOM, "description")


def test_self_hosted_services_of_the_organization():
    hosts = {"bigbluebutton": ["bbb.acme.org"], "nextcloud": ["cloud.acme.org"], "pexip": ["video.acme.org"]}
    assert extract_links("https://bbb.acme.org/b/jan-deb", self_hosted=hosts) == [
        T("bigbluebutton", "https://bbb.acme.org/b/jan-deb", "description")
    ]
    assert extract_links("https://cloud.acme.org/call/abcdefgh", self_hosted=hosts) == [
        T("nextcloud", "https://cloud.acme.org/call/abcdefgh", "description")
    ]
    assert extract_links("https://video.acme.org/board", self_hosted=hosts) == [
        T("pexip", "https://video.acme.org/board", "description")
    ]
    assert extract_links("https://bbb.acme.org/b/jan-deb") == []
    assert extract_links("https://bbb.acme.org/b/jan-deb", self_hosted={"unknown": ["bbb.acme.org"]}) == []


def test_side_channel_links_rank_below_the_meeting():
    text = (
        "Community: https://discord.gg/acme\nStream: https://www.youtube.com/live/dQw4w9WgXcQ\nJoin: " + ZOOM
    )
    assert [t.provider for t in extract_links(text)] == ["zoom", "discord", "youtube"]
    assert extract_links("https://discord.gg/acme or sip:room@video.example.com")[0].provider == "discord"


def test_trailing_escaped_angle_bracket():
    assert extract_links("Join<https://chime.aws/1234567890%3E") == [
        T("chime", "https://chime.aws/1234567890", "description")
    ]
    assert extract_links("Join &lt;https://meet.goto.com/123456789&gt;") == [
        T("gotomeeting", "https://meet.goto.com/123456789", "description")
    ]


def test_wrapped_links_of_new_services():
    wrapped = (
        "https://nam12.safelinks.protection.outlook.com/ap/t-59584e83/?url=https%3A%2F%2Fwhereby.com"
        "%2Facme-standup&data=05%7C01&reserved=0"
    )
    assert extract_links(wrapped) == [T("whereby", "https://whereby.com/acme-standup", "description")]
    google = "https://www.google.de/url?q=https://app.slack.com/huddle/T01ABCDEFGH/C02ABCDEFGH&sa=D&ust=1"
    assert extract_links(google) == [
        T("slack", "https://app.slack.com/huddle/T01ABCDEFGH/C02ABCDEFGH", "description")
    ]


def test_quoted_reply_link_of_another_service_ranks_below():
    text = (
        "Moved to Jitsi: https://meet.jit.si/AcmeWeekly\n\nOn Mon, Mar 3, 2025 Bob wrote:\n"
        "> Join https://acme.whereby.com/weekly\n> Or https://chime.aws/1234567890\n"
    )
    assert [t.provider for t in extract_links(text)] == ["jitsi", "whereby", "chime"]
    only_quoted = "Thanks!\n> Join here: https://acme.whereby.com/weekly>\n"
    assert extract_links(only_quoted) == [T("whereby", "https://acme.whereby.com/weekly", "description")]


def test_bare_hosts_of_new_services():
    assert extract_links("Location: chime.aws/1234567890") == [
        T("chime", "https://chime.aws/1234567890", "description")
    ]
    assert extract_links("meet.jit.si/AcmeWeekly") == [
        T("jitsi", "https://meet.jit.si/AcmeWeekly", "description")
    ]


def test_conference_data_of_a_known_service():
    event = ev(
        conferenceData={
            "entryPoints": [{"entryPointType": "video", "uri": "https://Whereby.com/acme-standup"}]
        }
    )
    assert find_join_target(event) == T("whereby", "https://whereby.com/acme-standup", "conferenceData")
    app = ev(
        conferenceData={
            "entryPoints": [
                {"entryPointType": "video", "uri": "zoommtg://zoom.us/join?confno=91234567890&pwd=x"}
            ]
        }
    )
    assert find_join_target(app) == T("zoom", "https://zoom.us/j/91234567890?pwd=x", "conferenceData")
