"""Background entry point of Test connection (django-q2). Thin: takes the test id, calls the service."""


def connection_test_run(test_id):
    from controlhub.onboarding import services as onboarding

    return onboarding.connection_test_run(test_id=test_id).pk
