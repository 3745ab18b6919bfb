"""Service-account keys: parse and validate the JSON Google Cloud gives an admin, with a precise message for
each defect, and never echo the private key back."""

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization

from calendar_sync.google.errors import InvalidKeyFile

REQUIRED_FIELDS = ("type", "project_id", "private_key_id", "private_key", "client_email", "client_id", "token_uri")
# A real key is a flat object of about 2.3 KB. Anything much larger or nested is not a key, and must be refused
# before it costs us memory or recursion depth (``json`` recurses per level: ``"[" * 50000`` overflows the stack).
MAX_KEY_BYTES = 64 * 1024
MAX_KEY_DEPTH = 8
# The Google Cloud universe of every endpoint we call (a key's ``universe_domain``); keys without the field
# predate it and belong to this universe too.
GOOGLE_UNIVERSE = "googleapis.com"

_TOO_DEEP = ("The key file is not a service-account key: its JSON is nested too deeply. Upload the .json key "
             "exactly as downloaded from Google Cloud.")


@dataclass(frozen=True)
class ServiceAccountKey:
    info: dict = field(repr=False)
    client_id: str
    client_email: str
    private_key_id: str
    project_id: str

    @property
    def fingerprint(self):
        """Stable id of this key (not secret): used to cache credentials per key."""
        return hashlib.sha256(f"{self.client_email}/{self.private_key_id}".encode()).hexdigest()[:16]

    def to_json(self):
        return json.dumps(self.info)


def _too_large(size):
    return InvalidKeyFile(
        f"The key file is too large ({size // 1024} KB): a service-account key is a few KB, at most "
        f"{MAX_KEY_BYTES // 1024} KB. Upload the .json key exactly as downloaded from Google Cloud.",
        defect="too_large", params={"size": size // 1024, "max": MAX_KEY_BYTES // 1024},
    )


def _nested_deeper_than(value, limit):
    """True if ``value`` nests lists/dicts more than ``limit`` levels (iterative: no recursion of our own)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def parse_service_account_key(data, *, allow_other_universe=False):
    """Validate a service-account JSON key (``str``, ``bytes`` or ``dict``). Raises ``InvalidKeyFile``.

    ``allow_other_universe`` accepts a ``universe_domain`` other than ``googleapis.com``; the default refuses it,
    since every endpoint we call is in Google's public universe (the emulator's keys say ``googleapis.com`` too).
    """
    if isinstance(data, bytes | bytearray):
        if len(data) > MAX_KEY_BYTES:
            raise _too_large(len(data))
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidKeyFile("The file is not text: upload the .json key file Google Cloud gave you.",
                                 defect="not_text") from None
    if isinstance(data, str):
        size = len(data) if len(data) > MAX_KEY_BYTES else len(data.encode("utf-8", "surrogatepass"))
        if size > MAX_KEY_BYTES:
            raise _too_large(size)
        if not data.strip():
            raise InvalidKeyFile("The key file is empty.", defect="empty")
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise InvalidKeyFile(
                f"The key file is not valid JSON (line {exc.lineno}, column {exc.colno}). Upload the .json key "
                "exactly as downloaded from Google Cloud (IAM & Admin → Service accounts → Keys).",
                defect="not_json", params={"line": exc.lineno, "column": exc.colno},
            ) from None
        except RecursionError:
            raise InvalidKeyFile(_TOO_DEEP, defect="too_deep") from None
    if not isinstance(data, dict):
        raise InvalidKeyFile("The key file must be a JSON object, as downloaded from Google Cloud.", defect="not_object")
    if _nested_deeper_than(data, MAX_KEY_DEPTH):
        raise InvalidKeyFile(_TOO_DEEP, defect="too_deep")
    if data.get("type") != "service_account":
        found = data.get("type") or "none"
        raise InvalidKeyFile(
            f"This is not a service-account key (\"type\" is {found!r}, expected 'service_account'). An OAuth "
            "client secret or an API key will not work.", defect="not_service_account", params={"found": repr(found)}
        )
    missing = [name for name in REQUIRED_FIELDS if not data.get(name)]
    if missing:
        raise InvalidKeyFile(f"The key file is missing: {', '.join(missing)}.", defect="missing",
                             params={"fields": ", ".join(missing)})
    universe = data.get("universe_domain", GOOGLE_UNIVERSE)
    if not isinstance(universe, str) or not universe:
        raise InvalidKeyFile(f"\"universe_domain\" must be {GOOGLE_UNIVERSE!r}, the universe of Google's public APIs.",
                             defect="universe_missing", params={"expected": repr(GOOGLE_UNIVERSE)})
    if universe != GOOGLE_UNIVERSE and not allow_other_universe:
        raise InvalidKeyFile(
            f"This key belongs to the Google Cloud universe {universe[:100]!r} (\"universe_domain\"), not "
            f"{GOOGLE_UNIVERSE!r}: Calendar Hub talks to Google's public APIs only. Create the key in a Google "
            "Cloud project of the public universe.",
            defect="other_universe", params={"universe": repr(universe[:100]), "expected": repr(GOOGLE_UNIVERSE)},
        )
    client_id = str(data["client_id"])
    if not client_id.isdigit():
        raise InvalidKeyFile(f"\"client_id\" must be the numeric client ID of the service account, not {client_id!r}.",
                             defect="client_id", params={"found": repr(client_id)})
    email = str(data["client_email"])
    if "@" not in email or not email.endswith(".gserviceaccount.com"):
        raise InvalidKeyFile(
            f"\"client_email\" {email!r} is not a service account address (…@….iam.gserviceaccount.com).",
            defect="client_email", params={"found": repr(email)},
        )
    try:
        key = serialization.load_pem_private_key(str(data["private_key"]).encode(), password=None)
    except (ValueError, TypeError):
        raise InvalidKeyFile(
            "\"private_key\" cannot be read as a PEM private key: the file was probably edited or truncated.",
            defect="private_key",
        ) from None
    if getattr(key, "key_size", 0) < 2048:
        raise InvalidKeyFile("\"private_key\" must be an RSA key of at least 2048 bits.", defect="key_size")
    return ServiceAccountKey(
        info=data,
        client_id=client_id,
        client_email=email,
        private_key_id=str(data["private_key_id"]),
        project_id=str(data["project_id"]),
    )


_file_cache = {}
_file_lock = threading.Lock()


def load_service_account_file(path, *, allow_other_universe=False):
    """Load and validate the deployment's key file once per (path, mtime)."""
    if not path:
        raise InvalidKeyFile("No service-account key is configured (GOOGLE_SERVICE_ACCOUNT_FILE is empty).")
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise InvalidKeyFile(f"Cannot read the service-account key file {path}: {exc.strerror}.") from None
    with _file_lock:
        cached = _file_cache.get((path, allow_other_universe))
        if cached and cached[0] == mtime:
            return cached[1]
    with open(path, "rb") as fh:
        raw = fh.read(MAX_KEY_BYTES + 1)  # never more than the parser would accept
    key = parse_service_account_key(raw, allow_other_universe=allow_other_universe)
    with _file_lock:
        _file_cache[(path, allow_other_universe)] = (mtime, key)
    return key
