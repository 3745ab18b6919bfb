"""Background entry points of the control side (django-q2). Thin: they take ids and call services."""
