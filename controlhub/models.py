"""The app's model registry for Django: each model lives in the package it belongs to (``tenancy``,
``onboarding``, ``people``); import models from there, never from here (migrations and the admin excepted)."""

from controlhub.onboarding.models import ConnectionTest
from controlhub.people.models import BulkJob, Person, PersonHistory
from controlhub.tenancy.models import AuditEvent, Domain, Membership, Organization, OrgDataKey

__all__ = ["AuditEvent", "BulkJob", "ConnectionTest", "Domain", "Membership", "OrgDataKey", "Organization", "Person",
           "PersonHistory"]
