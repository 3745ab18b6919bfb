"""The app's model registry for Django: each model lives in the package it belongs to (``sync``,
``scheduling``, ``meetings``, ``workspaces``); import models from there, never from here (migrations and the
admin excepted)."""

from calendar_sync.meetings.models import DeviceToken
from calendar_sync.scheduling.models import KeywordMeeting
from calendar_sync.sync.models import CalendarSource, Channel, Meeting, OutboxEntry
from calendar_sync.workspaces.models import Room, RoomDisplay, RoomEvent, RoomHistory, WorkspaceSettings

__all__ = ["CalendarSource", "Channel", "DeviceToken", "KeywordMeeting", "Meeting", "OutboxEntry", "Room",
           "RoomDisplay", "RoomEvent", "RoomHistory", "WorkspaceSettings"]
