from django.urls import include, path

from calendar_sync.meetings.views import api, notify
from calendar_sync.meetings.views import page as meetings
from calendar_sync.scheduling import views as meeting_service
from calendar_sync.sync.views import health, webhook

urlpatterns = [
    path("meetings/", meetings.MeetingsView.as_view(), name="meetings"),
    path("meetings/list/", meetings.MeetingsPartialView.as_view(), name="meetings_partial"),
    path("meetings/time-zone/", meetings.MeetingsTimeZoneView.as_view(), name="meetings_time_zone"),
    path("device-tokens/", meetings.DeviceTokensView.as_view(), name="device_tokens"),
    path("device-tokens/<int:pk>/revoke/", meetings.DeviceTokenRevokeView.as_view(), name="device_token_revoke"),
    path("sync/health/", health.sync_health, name="sync_health"),
    path("meeting-service/", meeting_service.MeetingServiceView.as_view(), name="meeting_service"),
    path("meeting-service/save/", meeting_service.MeetingServiceSaveView.as_view(), name="meeting_service_save"),
    path("meeting-service/test/", meeting_service.MeetingServiceTestView.as_view(), name="meeting_service_test"),
    path("google/notifications", webhook.google_notifications, name="google_notifications"),
    path("api/v1/meetings", api.meetings_api, name="api_meetings"),
    path("notify-sw.js", notify.notify_service_worker, name="notify_service_worker"),
    path("", include("calendar_sync.workspaces.urls")),
]
