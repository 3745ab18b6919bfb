"""The admin portal and the Django project.

Packages, bottom first: ``tenancy`` (organizations, members and roles, verified domains, audit, data keys, the
tenant trust boundary and the guarded Google gateway, the error catalogue, the org-scoped view mixins);
``domains`` (DNS TXT verification) and ``onboarding`` (Connect Google, Test connection, learning the tenant);
``people`` (people, activation, CSV and directory import, sign-in links, bulk jobs, their calendar source).
The modules at this level (``settings``, ``urls``, ``apps``, ``admin``, ``models``, ``checks``, ``middleware``,
``auth``, ``views``, ``schedules``, ``management``, ``templatetags``) are the shell that wires the packages
together: they may import anything, nothing imports them. ARCHITECTURE.md states the rule;
``tests/test_architecture.py`` keeps it.
"""
