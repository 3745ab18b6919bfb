"""Onboarding: Connect Google (client ID, the scopes line, an own key upload stored encrypted), Test connection
with its checklist naming each fault, and learning the org's own Google tenant (customerId, secondary domains).

May import ``controlhub.tenancy``, ``calendar_sync.google`` and ``calendar_sync.encryption``.
"""
