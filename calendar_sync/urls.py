from django.urls import path

from calendar_sync import views

urlpatterns = [
    path("meetings/", views.meetings, name="meetings"),
    path("sync/health/", views.sync_health, name="sync_health"),
]
