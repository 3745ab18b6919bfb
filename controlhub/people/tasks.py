"""Background entry points for people and activation (django-q2). Thin: they take ids and call services."""


def person_validate(person_id):
    from controlhub.people import activation

    return activation.person_validate(person_id=person_id)


def activation_retry_due():
    from controlhub.people import activation

    return activation.activation_retry_due()


def bulk_job_run(job_id):
    from controlhub.people import activation

    activation.bulk_job_run(job_id=job_id)


def csv_import_run(job_id):
    from controlhub.people import csv_import

    csv_import.csv_import_run(job_id=job_id)


def directory_import_run(job_id):
    from controlhub.people import directory_import

    directory_import.directory_import_run(job_id=job_id)


def invitation_send(person_id, base_url=""):
    from controlhub.people import invitations

    invitations.invitation_send(person_id=person_id, base_url=base_url)


def person_calendar_start(person_id):
    from controlhub.people import calendar as person_calendar

    person_calendar.person_calendar_start(person_id=person_id)


def person_calendar_stop(person_id):
    from controlhub.people import calendar as person_calendar

    person_calendar.person_calendar_stop(person_id=person_id)
