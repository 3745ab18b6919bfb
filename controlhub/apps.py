from django.apps import AppConfig


class ControlhubConfig(AppConfig):
    name = "controlhub"
    verbose_name = "Control Hub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from controlhub import checks  # noqa: F401 - registers the system checks
