import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def keyword_meetings_pending_to_outbox(apps, schema_editor):
    """A keyword meeting whose PATCH never landed was retried on the next page of its calendar; from now on the
    outbox retries it: one entry per such meeting, due at once."""
    KeywordMeeting = apps.get_model("calendar_sync", "KeywordMeeting")
    OutboxEntry = apps.get_model("calendar_sync", "OutboxEntry")
    now = django.utils.timezone.now()
    pending = KeywordMeeting.objects.filter(state="active", patched_etag="").values_list("source_id",
                                                                                        "google_event_id")
    OutboxEntry.objects.bulk_create(
        [OutboxEntry(source_id=source_id, effect="keywords", google_event_id=event_id, next_attempt_at=now,
                     created_at=now, updated_at=now) for source_id, event_id in pending],
        ignore_conflicts=True, batch_size=500,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("calendar_sync", "0003_workspaces"),
    ]

    operations = [
        migrations.AddField(
            model_name="calendarsource",
            name="retrying_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="OutboxEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("effect", models.CharField(max_length=40)),
                ("google_event_id", models.CharField(max_length=1024)),
                ("time_zone", models.CharField(blank=True, max_length=64)),
                ("token", models.BigIntegerField(default=0)),
                ("state", models.CharField(choices=[("pending", "Pending"), ("failed", "Failed")], default="pending",
                                           max_length=10)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("error_code", models.CharField(blank=True, max_length=40)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("source", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="outbox",
                                             to="calendar_sync.calendarsource")),
            ],
            options={
                "indexes": [models.Index(fields=["source", "state", "next_attempt_at"],
                                         name="outbox_source_due")],
                "constraints": [models.UniqueConstraint(fields=("source", "effect", "google_event_id"),
                                                        name="outbox_unique_event")],
            },
        ),
        migrations.RunPython(keyword_meetings_pending_to_outbox, migrations.RunPython.noop),
    ]
