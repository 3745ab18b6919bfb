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


def parse_service_account_key(data):
    """Validate a service-account JSON key (``str``, ``bytes`` or ``dict``). Raises ``InvalidKeyFile``."""
    if isinstance(data, bytes | bytearray):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidKeyFile("The file is not text: upload the .json key file Google Cloud gave you.") from None
    if isinstance(data, str):
        if not data.strip():
            raise InvalidKeyFile("The key file is empty.")
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise InvalidKeyFile(
                f"The key file is not valid JSON (line {exc.lineno}, column {exc.colno}). Upload the .json key "
                "exactly as downloaded from Google Cloud (IAM & Admin → Service accounts → Keys)."
            ) from None
    if not isinstance(data, dict):
        raise InvalidKeyFile("The key file must be a JSON object, as downloaded from Google Cloud.")
    if data.get("type") != "service_account":
        found = data.get("type") or "none"
        raise InvalidKeyFile(
            f"This is not a service-account key (\"type\" is {found!r}, expected 'service_account'). An OAuth "
            "client secret or an API key will not work."
        )
    missing = [name for name in REQUIRED_FIELDS if not data.get(name)]
    if missing:
        raise InvalidKeyFile(f"The key file is missing: {', '.join(missing)}.")
    client_id = str(data["client_id"])
    if not client_id.isdigit():
        raise InvalidKeyFile(f"\"client_id\" must be the numeric client ID of the service account, not {client_id!r}.")
    email = str(data["client_email"])
    if "@" not in email or not email.endswith(".gserviceaccount.com"):
        raise InvalidKeyFile(
            f"\"client_email\" {email!r} is not a service account address (…@….iam.gserviceaccount.com)."
        )
    try:
        key = serialization.load_pem_private_key(str(data["private_key"]).encode(), password=None)
    except (ValueError, TypeError):
        raise InvalidKeyFile(
            "\"private_key\" cannot be read as a PEM private key: the file was probably edited or truncated."
        ) from None
    if getattr(key, "key_size", 0) < 2048:
        raise InvalidKeyFile("\"private_key\" must be an RSA key of at least 2048 bits.")
    return ServiceAccountKey(
        info=data,
        client_id=client_id,
        client_email=email,
        private_key_id=str(data["private_key_id"]),
        project_id=str(data["project_id"]),
    )


_file_cache = {}
_file_lock = threading.Lock()


def load_service_account_file(path):
    """Load and validate the deployment's key file once per (path, mtime)."""
    if not path:
        raise InvalidKeyFile("No service-account key is configured (GOOGLE_SERVICE_ACCOUNT_FILE is empty).")
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise InvalidKeyFile(f"Cannot read the service-account key file {path}: {exc.strerror}.") from None
    with _file_lock:
        cached = _file_cache.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
    with open(path, "rb") as fh:
        key = parse_service_account_key(fh.read())
    with _file_lock:
        _file_cache[path] = (mtime, key)
    return key
