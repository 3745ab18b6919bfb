"""Keyword scheduling (@webex / @meet in Location). Called by the sync engine for each applied page."""


def process_events(*, subscription, events):
    """Handle keyword events among ``events`` (raw Google Event dicts) of ``subscription``. Returns PATCH count."""
    return 0
