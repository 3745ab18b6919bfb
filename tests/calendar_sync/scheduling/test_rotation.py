"""A new data key re-encrypts the meeting service's secrets and keyword meetings' details too."""

import pytest

from calendar_sync.encryption.crypto import DataCipher
from calendar_sync.key_rotation import org_key_rotate
from calendar_sync.scheduling.models import MeetingService
from calendar_sync.scheduling.services import meeting_site_for, webex_secrets
from controlhub.tenancy.keys import forget_ciphers

pytestmark = pytest.mark.django_db


def test_meeting_service_secrets_follow_the_new_key(webex_org, webex):
    meeting_site_for(webex_org).personal_room(host_email="eli@acme.test")  # stores an access token too
    service = MeetingService.objects.get(organization=webex_org)
    assert DataCipher.key_version_of(bytes(service.webex_secrets_enc)) == 1
    progress = org_key_rotate(organization=webex_org)
    assert progress["meeting_service"] == 2
    service.refresh_from_db()
    for blob in (service.webex_secrets_enc, service.webex_token_enc):
        assert DataCipher.key_version_of(bytes(blob)) == 2
    forget_ciphers()
    assert webex_secrets(service)["refresh_token"] == webex.app["refresh_token"]
    assert meeting_site_for(webex_org).personal_room(host_email="eli@acme.test").join_url
