from django.utils.functional import SimpleLazyObject


def _membership_for(request):
    user = request.user
    if not user.is_authenticated:
        return None
    try:
        return user.membership
    except Exception:  # noqa: BLE001 - no membership row: a staff-only or half-created account
        return None


class MembershipMiddleware:
    """Attaches ``request.membership`` and ``request.organization`` (None when signed out or not a member)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _membership_for(request))
        request.organization = SimpleLazyObject(
            lambda: request.membership.organization if request.membership else None
        )
        return self.get_response(request)
