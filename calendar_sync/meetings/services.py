"""The writes of the meetings page: a user's own time-zone override."""

from django.db import transaction

from controlhub.people.models import Person
from controlhub.tenancy.orgs import audit_record


@transaction.atomic
def person_time_zone_set(*, person, time_zone, actor=None):
    """The user's own time-zone override ('' = back to their Google Calendar setting)."""
    Person.objects.filter(pk=person.pk).update(time_zone=time_zone)
    person.time_zone = time_zone
    audit_record(organization=person.organization, actor=actor, action="person.time_zone", target=person,
                 detail={"time_zone": time_zone})
    return person
