def membership(request):
    m = getattr(request, "membership", None)
    m = m if m else None
    return {
        "membership": m,
        "organization": m.organization if m else None,
        "is_org_admin": bool(m and m.is_admin),
        "can_change": bool(m and m.can_change),
    }
