"""URLs of workspaces: the admin pages and the room display."""

from django.urls import path

from calendar_sync.workspaces import views

urlpatterns = [
    path("workspaces/", views.WorkspacesView.as_view(), name="workspaces"),
    path("workspaces/settings/", views.WorkspacesSettingsView.as_view(), name="workspaces_settings"),
    path("workspaces/add/", views.RoomAddView.as_view(), name="workspaces_add"),
    path("workspaces/import/", views.RoomImportView.as_view(), name="workspaces_import"),
    path("workspaces/<int:pk>/", views.RoomDetailView.as_view(), name="workspace_room"),
    path("workspaces/<int:pk>/policy/", views.RoomPolicyView.as_view(), name="workspace_room_policy"),
    path("workspaces/<int:pk>/displays/", views.RoomDisplayCreateView.as_view(), name="workspace_display_create"),
    path("workspaces/<int:pk>/displays/<int:display_pk>/<slug:action>/", views.RoomDisplayActionView.as_view(),
         name="workspace_display_action"),
    path("workspaces/<int:pk>/<slug:action>/", views.RoomActionView.as_view(), name="workspace_room_action"),
    path("rooms/<str:token>/", views.room_display, name="room_display"),
    path("rooms/<str:token>/state", views.room_display_state, name="room_display_state"),
    path("rooms/<str:token>/<slug:action>", views.RoomDisplayActionApi.as_view(), name="room_display_action"),
]
