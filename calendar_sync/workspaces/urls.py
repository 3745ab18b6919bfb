"""URLs of workspaces: the admin pages and the room display."""

urlpatterns = []
