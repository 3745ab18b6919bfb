"""The org's workspace settings (on or off, the scheduling and admin accounts), read by every part of rooms."""

from calendar_sync.workspaces.models import WorkspaceSettings


def workspace_settings(organization):
    return WorkspaceSettings.objects.get_or_create(organization=organization)[0]


def workspaces_enabled(organization):
    """Whether the org uses workspaces (the scopes line then asks for the Directory rooms scope)."""
    return WorkspaceSettings.objects.filter(organization_id=organization.pk, enabled=True).exists()
