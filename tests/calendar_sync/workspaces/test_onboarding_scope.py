"""Connect Google with workspaces on: the scopes line asks for the Directory rooms scope, and Test connection
checks it (and the room directory) and names it when it is missing."""

import pytest

from calendar_sync.google.gateway import SCOPE_ROOMS_READONLY
from calendar_sync.workspaces import services
from controlhub.onboarding import services as onboarding
from controlhub.onboarding.models import ConnectionTest
from tests.calendar_sync.workspaces.conftest import ADMIN, SCHED, SCOPES_CORE

pytestmark = pytest.mark.django_db(transaction=True)


def _run(org):
    test = onboarding.connection_test_start(organization=org, test_email=ADMIN)
    return {r["check"]: r for r in ConnectionTest.objects.get(pk=test.pk).results}


def test_the_rooms_scope_joins_the_line_only_when_workspaces_are_on(ready_org, rooms_google):
    assert SCOPE_ROOMS_READONLY not in onboarding.org_scopes(ready_org)
    services.workspaces_configure(organization=ready_org, enabled=True, scheduling_account=SCHED)
    ready_org.refresh_from_db()
    assert ready_org.setup_state == "not_set_up"  # the line changed: the last test proves nothing now
    assert onboarding.org_scopes_line(ready_org).endswith("," + SCOPE_ROOMS_READONLY)
    assert onboarding.SCOPE_USES[SCOPE_ROOMS_READONLY].purpose

    results = _run(ready_org)
    assert results["token:" + SCOPE_ROOMS_READONLY]["status"] == "pass"
    assert results["directory_rooms"]["status"] == "pass"

    rooms_google.delegate("acme.test", rooms_google.client_id, SCOPES_CORE)
    results = _run(ready_org)
    missing = results["token:" + SCOPE_ROOMS_READONLY]
    assert missing["status"] == "fail" and missing["code"] == "scope_missing"
    assert SCOPE_ROOMS_READONLY in missing["detail"]
    assert results["directory_rooms"]["status"] == "skip"
