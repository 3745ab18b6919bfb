import pytest

from calendar_sync.joinlinks import JoinTarget, extract_links, find_join_target, find_join_targets

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
                "entryPoints": [{"entryPointType": "video", "uri": "https://Whereby.com/acme-standup"}]
            }
        ),
        T("other", "https://whereby.com/acme-standup", "conferenceData"),
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
