"""Background entry points of the sync side (django-q2). Thin: they take ids and call services.

Arguments are ids only: django-q2 stores them as plaintext pickles, and meeting data must never be there.
"""

from calendar_sync.sync import scheduler, sources


def source_start(source_id):
    """A source was added (a room): first full sync and push channel."""
    sources.source_start(source_id=source_id)


def source_stop(source_id):
    """A source was removed: stop channels, purge synced data."""
    sources.source_stop(source_id=source_id)


def source_sync(source_id):
    """Sync one calendar (claimed by a push or the scheduler); returns nothing about its content."""
    outcome = sources.source_run(source_id=source_id)
    return None if outcome is None else {"full": outcome.full, "calls": outcome.calls}


def scheduler_loop():
    """Every minute: claim due sources every 2 s for ~50 s (the backstop of missed pushes)."""
    return scheduler.scheduler_loop()
