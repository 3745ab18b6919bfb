"""Background entry points of the sync side (django-q2). Thin: they take ids and call services.

Arguments are ids only: django-q2 stores them as plaintext pickles, and meeting data must never be there.
"""

from calendar_sync.services import presence, scheduler, subscriptions


def subscription_start(person_id):
    """Called once a person is activated: first full sync and push channel, then their out-of-office reading."""
    subscriptions.subscription_start(person_id=person_id)
    presence.presence_refresh_task(person_id)


def subscription_stop(person_id):
    """Called on deactivation: stop channels, purge synced data."""
    subscriptions.subscription_stop(person_id=person_id)


def subscription_sync(subscription_id):
    """Sync one calendar (claimed by a push or the scheduler); returns nothing about its content."""
    outcome = subscriptions.subscription_run(subscription_id=subscription_id)
    return None if outcome is None else {"full": outcome.full, "calls": outcome.calls}


def scheduler_loop():
    """Every minute: claim due subscriptions every 2 s for ~50 s (the backstop of missed pushes)."""
    return scheduler.scheduler_loop()
