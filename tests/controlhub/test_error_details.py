"""Stored error details: our own sentences are stored in English and shown in the viewer's language; anything
else is Google's words, shown as they are (escaped) and labelled as Google's."""

import pytest
from django.template import Context, Template
from django.utils import translation

from calendar_sync.google import errors as google_errors
from controlhub.tenancy.errors import describe_google_error, detail_for_display

SCOPE = "https://www.googleapis.com/auth/gmail.settings.basic"


@pytest.mark.parametrize(("exc", "fr"), [
    (google_errors.ApiDisabled("x", api="gmail.googleapis.com", project="42"),
     "Gmail API (gmail.googleapis.com) est désactivée dans le projet Cloud (projet 42)."),
    (google_errors.ApiDisabled("x", api="gmail.googleapis.com"), "Gmail API (gmail.googleapis.com) est désactivée dans le projet Cloud."),
    (google_errors.ApiDisabled("x"), "Une API Google est désactivée dans le projet Cloud."),
    (google_errors.ScopeNotAuthorized("x", scope=SCOPE), f"Champ d'application manquant : {SCOPE}"),
])
def test_our_sentences_are_stored_in_english_and_shown_translated(exc, fr):
    stored = describe_google_error(exc)
    with translation.override("en"):
        assert detail_for_display(stored).text == stored and detail_for_display(stored).ours
    with translation.override("fr"):
        assert detail_for_display(stored).text == fr


def test_google_s_words_are_kept_escaped_and_labelled():
    stored = describe_google_error(google_errors.UserNotFound("Invalid email or User ID <b>x</b>"))
    assert stored == "Invalid email or User ID <b>x</b>" and not detail_for_display(stored).ours
    template = Template("{% load error_tags %}{% error_detail detail %}|{% error_detail detail label=False %}|"
                        "{% error_detail '' %}")
    with translation.override("ko"):
        html = template.render(Context({"detail": stored}))
    assert html == ('<span class="error-detail">Google 응답: <span class="mono">Invalid email or User ID '
                    '&lt;b&gt;x&lt;/b&gt;</span></span>|<span class="error-detail mono">Invalid email or User ID '
                    '&lt;b&gt;x&lt;/b&gt;</span>|')


@pytest.mark.django_db
def test_a_refusal_of_the_tenant_boundary_is_ours_never_google_s_and_is_shown_translated(org):
    from controlhub.tenancy.boundary import TenantBoundary

    with pytest.raises(google_errors.SubjectOutsideTenant) as refused:
        TenantBoundary(org).require("eve@elsewhere.test")
    stored = describe_google_error(refused.value)
    assert stored == "elsewhere.test is not a verified domain of this organization's Google Workspace"
    with translation.override("fr"):
        shown = detail_for_display(stored)
    assert shown.ours and shown.text == ("elsewhere.test n'est pas un domaine validé du Google Workspace de cette "
                                         "organisation")
    with translation.override("ko"):
        shown = detail_for_display("No resource calendar atlas@resource.calendar.google.com in the directory")
    assert shown.text == "디렉터리에 리소스 캘린더 atlas@resource.calendar.google.com이(가) 없습니다"
