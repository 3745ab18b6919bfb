"""Domains: adding a domain claim, verifying it by a DNS TXT record (dnspython), the hourly re-check, expiry of
claims never proven, and removal with the people it affects. A verified domain belongs to one organization.

May import ``controlhub.people`` (removal lists the people a domain vouched for) and ``controlhub.tenancy``
(the Domain model lives there, since the tenant boundary reads it).
"""
