"""Warm a freshly spawned worker process before its first task.

A new django-q2 worker otherwise pays, inside its first sync, for importing the sync modules, parsing the
service-account key, building the API clients and opening its database connection (~150-200 ms, several times
more when every worker of a cluster starts at once on a small machine). That cost showed up as the tail of the
change-to-visible latency. Nothing here talks to Google.
"""

import logging

logger = logging.getLogger(__name__)


def worker_warm_up(sender=None, proc_name=None, **kwargs):
    try:
        from django.db import connection

        import calendar_sync.presence.services  # noqa: F401
        import calendar_sync.scheduling.keywords  # noqa: F401
        import calendar_sync.sync.engine  # noqa: F401
        import calendar_sync.sync.sources  # noqa: F401
        import controlhub.people.activation  # noqa: F401
        from controlhub.tenancy.google_connection import deployment_gateway

        connection.ensure_connection()
        gateway = deployment_gateway()
        if gateway is not None:
            gateway.warm()
    except Exception:  # noqa: BLE001 - warming is an optimisation: the first task does the same work if it fails
        logger.warning("worker warm-up failed", exc_info=True)
