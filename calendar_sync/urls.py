from django.urls import path

from calendar_sync import api, webhook
from calendar_sync.views import health, meetings

urlpatterns = [
    path("meetings/", meetings.meetings, name="meetings"),
    path("sync/health/", health.sync_health, name="sync_health"),
    path("google/notifications", webhook.google_notifications, name="google_notifications"),
    path("api/v1/meetings", api.meetings_api, name="api_meetings"),
]
