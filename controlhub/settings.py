"""Settings for Calendar Hub.

Everything that differs between deployments is read from the environment, once, here (django-environ).
Embedded default: SQLite (WAL) + django-q2's ORM broker. Scale-out: ``DATABASE_URL=postgres://…`` and
``REDIS_URL=redis://…`` (Redis broker and cache). See ``.env.example`` for every variable.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
env_file = BASE_DIR / ".env"
if env_file.exists():
    environ.Env.read_env(env_file)

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdefghijklmnop"
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
else:
    SECRET_KEY = env.str("SECRET_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[PUBLIC_BASE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "axes",
    "csp",
    "controlhub",
    "calendar_sync",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside everything that can answer (static files, lockouts, errors) so every response carries the policy.
    "controlhub.security_headers.StaticPolicyCSPMiddleware",  # django-csp's, the header built once
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "controlhub.middleware.MembershipMiddleware",
    # Last, as django-axes asks: turns a refused sign-in into the lockout page (AXES_LOCKOUT_CALLABLE).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "controlhub.urls"
WSGI_APPLICATION = "controlhub.wsgi.application"
ASGI_APPLICATION = "controlhub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "controlhub.context_processors.membership",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'calendarhub.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so two writers queue on
    # the busy timeout instead of failing with "database is locked" half-way through a transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        }
    )
    # Keep each thread's connection open between requests: opening one and running the PRAGMAs costs more
    # than a whole cached page.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=300))
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and queue --------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Delegated Google tokens shared by every process through the cache, encrypted (controlhub/tenancy/token_cache.py).
GOOGLE_TOKEN_CACHE = env.bool("GOOGLE_TOKEN_CACHE", default=bool(REDIS_URL))
# Threads per web process for pages (controlhub/asgi.py: the live-update streams are coroutines and need none).
WEB_THREADS = env.int("WEB_THREADS", default=8)
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
        "throttle": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                     "KEY_PREFIX": "throttle"},
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "calendarhub_cache"},
        # Rate-limit counters (controlhub/tenancy/throttle.py), in their own table (`createcachetable` makes
        # it): the database cache culls a third of its rows once it holds MAX_ENTRIES (300 by default), and a
        # flood of distinct addresses must not wipe the counters that stop it.
        "throttle": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "calendarhub_throttle",
                     "OPTIONS": {"MAX_ENTRIES": 200_000}},
    }

Q_CLUSTER = {
    "name": "calendarhub",
    "workers": env.int("Q_WORKERS", default=2),
    # A worker restarts after this many tasks, or sooner past Q_MAX_RSS_KB of memory. A sync task hands its
    # calendar to a thread in milliseconds, so at django-q2's 500 a busy worker restarted every ~40 s at 50 syncs/s,
    # and each restart dropped its Google clients, delegated tokens and database connections.
    "recycle": env.int("Q_RECYCLE", default=5000),
    "max_rss": env.int("Q_MAX_RSS_KB", default=512_000),
    # A task may run at most `timeout` seconds (the longest are bulk imports; a sync task hands its calendar over
    # after 30 s and each Google call is bounded by GOOGLE_HTTP_TIMEOUT). The ORM broker re-delivers a task whose
    # cluster died after `retry` seconds, which must be longer than `timeout` (plus the guard's few seconds), or a
    # slow task would run twice at once. Syncs never wait for it: the scheduler claims a calendar whose worker died
    # again after SYNC_LEASE_SECONDS, or 20 s after a claimed task failed to start.
    "timeout": env.int("Q_TIMEOUT", default=120),
    "retry": env.int("Q_RETRY", default=130),
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 500,
    "poll": 0.05,
    "guard_cycle": 0.5,
    "label": "Background tasks",
    "log_level": env.str("Q_LOG_LEVEL", default="INFO"),  # the demo's console: WARNING unless --verbose
    "sync": env.bool("Q_SYNC", default=False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth ---------------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses every sign-in of a locked-out account or address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "controlhub.auth.EmailOrUsernameBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Calendar Hub <no-reply@localhost>")
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))

# --- Sign-in throttling (django-axes) ---------------------------------------------------------------------
# Failures are rows in the database (axes' database handler), not cache entries: every web worker and host
# sees the same count with no cache to configure, a Redis restart or the database cache's culling cannot
# forget a lockout, and operators see and clear them in /admin/ (Axes > Access attempts).
AXES_HANDLER = "controlhub.auth.SignInAttemptsHandler"
# Counted per account (the email typed, case-insensitive; a username counts under its account's email) and
# per client address. Five failures lock the account; the address, shared by a whole office behind one NAT,
# only after SIGNIN_IP_FAILURE_LIMIT failures over any accounts. Both for AXES_COOLOFF_TIME after the failures.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = env.int("SIGNIN_FAILURE_LIMIT", default=5)
SIGNIN_IP_FAILURE_LIMIT = env.int("SIGNIN_IP_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("SIGNIN_COOLOFF_MINUTES", default=15))
# A sign-in tried during the lockout is refused without extending it, so the time the page shows holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False  # a success by one account must not clear its address's count of others' failures
AXES_USERNAME_CALLABLE = "controlhub.auth.signin_identity"
AXES_CLIENT_IP_CALLABLE = "controlhub.tenancy.throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "controlhub.views.core.signin_locked_out"
AXES_DISABLE_ACCESS_LOG = True  # no row per successful sign-in; AuditEvent is the project's log
AXES_VERBOSE = False  # log failures and lockouts only, not a banner at every start
# Reverse proxies in front of the app that append the client to X-Forwarded-For (0: use the socket's address).
# Behind one proxy, set 1: otherwise every client has the proxy's address and shares one per-address limit.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Fixed-window limits (controlhub/tenancy/throttle.py): scope -> (at most this many, per this many seconds).
THROTTLE_RATES = {
    "signin_link_address": (3, 15 * 60),  # mails to one address
    "signin_link_ip": (20, 60 * 60),  # link requests from one client address
    "connection_test_org": (10, 10 * 60),  # Test connection runs of one organization
    "domain_verify": (10, 10 * 60),  # verify clicks for one domain of one organization
    "meeting_service_test_org": (10, 10 * 60),  # meeting service Test runs of one organization
}

# --- i18n -----------------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["controlhub.formats"]  # one date-and-time format per language
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security (production-like unless DEBUG) -----------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (django-csp): scripts and styles only from our own static files,
# no inline code or style attributes anywhere, no framing, forms only to ourselves.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
    },
}
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Calendar Hub -----------------------------------------------------------------------------------------------
# Master keys wrapping each organization's data key: "kid:<urlsafe base64 of 32 bytes>", comma-separated,
# first is primary. A development key is used only when DEBUG.
_DEV_ENCRYPTION_KEY = "dev0:ZGV2LW9ubHktbWFzdGVyLWtleS0zMi1ieXRlcy0hISE="
ENCRYPTION_KEYS = env.str("ENCRYPTION_KEYS", default=_DEV_ENCRYPTION_KEY if DEBUG else "")
GOOGLE_SERVICE_ACCOUNT_FILE = env.str("GOOGLE_SERVICE_ACCOUNT_FILE", default="")
# Root of every Google API; empty means Google's real endpoints. The emulator: http://127.0.0.1:8765
GOOGLE_API_ENDPOINT = env.str("GOOGLE_API_ENDPOINT", default="").rstrip("/")
# Seconds one attempt of one Google call may take (connect, then each read): the bound on how long a call holds
# a worker. Background sync makes each call once and schedules the retry of a failure (calendar_sync.sync.sources).
GOOGLE_HTTP_TIMEOUT = env.float("GOOGLE_HTTP_TIMEOUT", default=10.0)
# In-call retries where a person waits (Test connection, activation): a few attempts, jittered exponential
# backoff, never sleeping more than GOOGLE_RETRY_CAP seconds (a longer Retry-After is returned to the caller).
GOOGLE_RETRY_ATTEMPTS = env.int("GOOGLE_RETRY_ATTEMPTS", default=3)
GOOGLE_RETRY_BASE = env.float("GOOGLE_RETRY_BASE", default=0.5)
GOOGLE_RETRY_CAP = env.float("GOOGLE_RETRY_CAP", default=2.0)
DNS_NAMESERVERS = env.list("DNS_NAMESERVERS", default=[])  # "ip" or "ip:port"; empty = system resolver
SYNC_WINDOW_PAST_DAYS = env.int("SYNC_WINDOW_PAST_DAYS", default=7)
SYNC_WINDOW_FUTURE_DAYS = env.int("SYNC_WINDOW_FUTURE_DAYS", default=31)
SYNC_SAFETY_POLL_MINUTES = env.int("SYNC_SAFETY_POLL_MINUTES", default=30)
# How long a sync holds its calendar without a heartbeat: a killed worker's calendar is claimed again this long
# (plus the 2-s claim interval of run_workers) after its last heartbeat. A running sync renews it 4 times as often.
SYNC_LEASE_SECONDS = env.float("SYNC_LEASE_SECONDS", default=20.0)
# run_workers: an idle worker still alive this long after its stop pill is killed (it holds no task).
WORKER_STOP_IDLE_GRACE = env.float("WORKER_STOP_IDLE_GRACE", default=10.0)
# Calendars retrying after failures that may be queued or running at once, all clusters together: a storm on some
# users (Google failing or timing out for them) never takes more workers than this from everybody else.
SYNC_RETRY_CONCURRENCY = env.int("SYNC_RETRY_CONCURRENCY", default=max(1, Q_CLUSTER["workers"] // 2))
# Syncs one worker process runs at once, each in a thread: a sync mostly waits on Google, and a calendar whose
# calls hang then holds a thread, not the worker (calendar_sync.sync.sources._SyncThreads). 1 = no threads.
SYNC_THREADS = env.int("SYNC_THREADS", default=4)
CHANNEL_TTL_SECONDS = env.int("CHANNEL_TTL_SECONDS", default=7 * 24 * 3600)
CHANNEL_RENEW_BEFORE_SECONDS = env.int("CHANNEL_RENEW_BEFORE_SECONDS", default=24 * 3600)
WEBHOOK_BASE_URL = env.str("WEBHOOK_BASE_URL", default=PUBLIC_BASE_URL).rstrip("/")
DEMO_MODE = env.bool("DEMO_MODE", default=False)
# With DEBUG, an unknown URL still gets the product's not-found page (demo/apps.py); DEBUG_404=1 shows Django's
# technical page, which lists every URL pattern, for a developer.
DEBUG_404 = env.bool("DEBUG_404", default=False)
# Meeting services (keyword scheduling). An organization that has not chosen one on the Meeting service page
# uses MEETING_SERVICE_DEFAULT ("none": keywords off). Webex's REST API root (the emulator: http://HOST:PORT/v1).
MEETING_SERVICE_DEFAULT = env.str("MEETING_SERVICE_DEFAULT", default="none")
WEBEX_API_BASE = env.str("WEBEX_API_BASE", default="https://webexapis.com/v1").rstrip("/")
WEBEX_HTTP_TIMEOUT = env.float("WEBEX_HTTP_TIMEOUT", default=15.0)
# A Retry-After up to this many seconds is waited out inline; a longer one defers the keyword to a later retry.
WEBEX_MAX_RETRY_WAIT = env.float("WEBEX_MAX_RETRY_WAIT", default=5.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
