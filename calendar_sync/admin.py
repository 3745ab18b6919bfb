from django.contrib import admin

from calendar_sync import models


@admin.register(models.CalendarSource)
class CalendarSourceAdmin(admin.ModelAdmin):
    list_display = ("calendar_id", "organization", "state", "last_synced_at", "next_sync_at", "attempts")
    list_filter = ("state",)
    search_fields = ("calendar_id",)
    exclude = ("sync_token",)


@admin.register(models.Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("channel_id", "source", "state", "expiration", "created_at")
    list_filter = ("state",)
    exclude = ("token",)
