def domains_reverify_all():
    from controlhub.domains import services as domains

    return domains.domains_reverify_due()
