"""Background entry points of the control side. Thin: they take ids and call services."""


def domains_reverify_all():
    from controlhub.services import domains

    return domains.domains_reverify_due()
