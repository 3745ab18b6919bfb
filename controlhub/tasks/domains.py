def domains_reverify_all():
    from controlhub.services import domains

    return domains.domains_reverify_due()
