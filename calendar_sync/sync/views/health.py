"""The sync health card of the org dashboard (an htmx partial, refreshed every 10 s)."""

import datetime as dt
import logging

from django.conf import settings
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.views.generic import TemplateView

from calendar_sync.sync.models import CalendarSource, Channel
from controlhub.tenancy.errors import CATALOGUE
from controlhub.tenancy.views import OrgAdminRequiredMixin

logger = logging.getLogger(__name__)

FAILING_SHOWN = 20


def queue_depth():
    """Tasks waiting in the django-q2 broker (ORM or Redis); None when the broker cannot be asked."""
    try:
        from django_q.brokers import get_broker

        return get_broker().queue_size()
    except Exception:  # noqa: BLE001 - the card must render even if the broker is down
        logger.warning("could not read the task queue size", exc_info=True)
        return None


def _with_info(sub):
    """Attach the catalogue entry (title and fix) of the source's error code."""
    sub.error = CATALOGUE.get(sub.error_code)
    return sub


class SyncHealthView(OrgAdminRequiredMixin, TemplateView):
    template_name = "calendar_sync/health.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        now = timezone.now()
        # Behind: not synced for two safety polls (pushes AND the backstop missed it), or overdue by 5 minutes.
        stale = now - dt.timedelta(minutes=2 * settings.SYNC_SAFETY_POLL_MINUTES)
        overdue = now - dt.timedelta(minutes=5)
        subs = self.org_queryset(CalendarSource).exclude(state=CalendarSource.State.STOPPED)
        behind_q = Q(state=CalendarSource.State.ACTIVE) & (
            Q(last_synced_at__isnull=True) | Q(last_synced_at__lt=stale) | Q(next_sync_at__lt=overdue)
        )
        failing = subs.filter(state=CalendarSource.State.FAILING)
        behind = subs.filter(behind_q)
        # Active but in a run of temporary failures (Google erring or slow for them): retried on a schedule,
        # neither healthy nor failing yet.
        retrying = subs.filter(state=CalendarSource.State.ACTIVE, retrying_since__isnull=False)
        total = subs.count()
        ctx.update(
            total=total,
            failing_count=failing.count(),
            behind_count=behind.count(),
            retrying_count=retrying.count(),
            retrying_since=retrying.aggregate(at=Min("retrying_since"))["at"],
            healthy_count=subs.filter(state=CalendarSource.State.ACTIVE, retrying_since__isnull=True).exclude(
                behind_q).count(),
            last_sync=subs.aggregate(at=Max("last_synced_at"))["at"],
            soonest_expiry=self.org_queryset(CalendarSource).filter(
                channels__state=Channel.State.ACTIVE, channels__expiration__isnull=False
            ).aggregate(at=Min("channels__expiration"))["at"],
            queue_depth=queue_depth(),
            failing=[_with_info(sub) for sub in failing.order_by("-last_error_at")[
                :FAILING_SHOWN]],
            now=now,
        )
        return ctx


sync_health = SyncHealthView.as_view()
