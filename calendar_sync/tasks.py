"""Background entry points of the sync side (django-q2). Thin: they take ids and call services."""


def subscription_start(person_id):
    """Called once a person is activated: first full sync and push channel."""


def subscription_stop(person_id):
    """Called on deactivation: stop channels, purge synced data."""
