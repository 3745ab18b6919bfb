from django.contrib import admin

from controlhub import models


@admin.register(models.Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "setup_state", "created_at")
    search_fields = ("name", "slug")
    exclude = ("own_key_ciphertext",)


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role")
    list_filter = ("role", "organization")
    search_fields = ("user__email", "user__username")


@admin.register(models.Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "state", "verified_at", "last_checked_at")
    list_filter = ("state",)
    search_fields = ("name",)


@admin.register(models.Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("email", "organization", "calendar_state", "error_code", "state_changed_at")
    list_filter = ("calendar_state", "error_code", "organization")
    search_fields = ("email", "name")
    readonly_fields = ("calendar_state", "error_code", "error_detail", "state_changed_at")


@admin.register(models.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "organization", "actor", "action", "target_type", "target_id")
    list_filter = ("action",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.BulkJob)
class BulkJobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "organization", "kind", "state", "done", "total", "failed")
    list_filter = ("kind", "state")
