from django.apps import AppConfig


class ControlhubConfig(AppConfig):
    name = "controlhub"
    verbose_name = "Control Hub"
    default_auto_field = "django.db.models.BigAutoField"
