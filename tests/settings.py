"""Settings for the test suite: the production settings module with test-only environment."""

import hashlib
import os
import time

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ENCRYPTION_KEYS", "test1:dGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmchISE=")
os.environ.setdefault("ALLOWED_HOSTS", "*")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("PUBLIC_BASE_URL", "http://testserver")
# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls there unless told.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from controlhub.settings import *  # noqa: E402,F403
from controlhub.settings import BASE_DIR, CACHES, DATABASES, Q_CLUSTER  # noqa: E402

_RUN = f"{os.getpid()}-{time.time_ns()}"


def throttle_key_per_test(key, key_prefix, version):
    """Rate-limit counters live in the shared cache (Redis or a table), which no test rolls back: each test
    counts in its own namespace (pytest names the running test in PYTEST_CURRENT_TEST, live-server threads
    included), and each run in its own, so no count carries from one test or one run into the next."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    scope = hashlib.sha256(f"{_RUN}:{test}".encode()).hexdigest()[:16]
    return f"{key_prefix}:{version}:{scope}:{key}"


CACHES = {**CACHES, "throttle": {**CACHES["throttle"], "KEY_FUNCTION": throttle_key_per_test}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a real worker process (tests/test_worker.py) can share the test database.
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}

# Each test's emulator mints its own tokens: none may come from another test through the shared cache (the
# shared token store is tested on its own, tests/controlhub/test_token_cache.py).
GOOGLE_TOKEN_CACHE = False
# Tasks run inline, in the same transaction-aware way they are enqueued (after commit).
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
SESSION_COOKIE_SECURE = False
# Orgs that chose no meeting service get the offline stand-in, so keyword tests need no meeting service.
MEETING_SERVICE_DEFAULT = "local"
CSRF_COOKIE_SECURE = False
