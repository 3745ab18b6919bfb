"""Out of office: the Gmail vacation responder of activated people and Calendar ``outOfOffice`` events.

May import ``controlhub.people`` (it stores the reading on the person), ``calendar_sync.sync``,
``controlhub.tenancy`` and ``calendar_sync.google``. It learns of activations through the
``person_calendar_started`` signal, so people never import it.
"""
