"""What every benchmark shares: a production-like environment on a temporary SQLite file, and free ports."""

import socket

MASTER_KEY = "bench:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY"


def bench_environment(tmp, **extra):
    """Environment for a benchmark's Django (and its subprocesses): DEBUG off, a throwaway secret and master key,
    tasks queued (not inline), a SQLite file in ``tmp`` unless ``DATABASE_URL`` is given in ``extra``."""
    env = {
        "DJANGO_SETTINGS_MODULE": "controlhub.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789",
        "ALLOWED_HOSTS": "*",
        "SECURE_SSL_REDIRECT": "0",
        "ENCRYPTION_KEYS": MASTER_KEY,
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "Q_SYNC": "0",
    }
    env.update(extra)
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
