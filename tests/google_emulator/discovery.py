"""A small validator of JSON values against the discovery documents shipped inside google-api-python-client.

Checks, recursively with ``$ref`` resolved: every field exists in the schema (``properties`` or
``additionalProperties``), JSON types (string/integer/number/boolean/object/array, ``any`` accepts all),
string formats (``date-time``, ``date``, ``int64``/``uint64`` as decimal strings, ``byte``), ``int32`` range,
``enum`` lists and the "Possible values are: - "x" ..." lists of descriptions, ``kind`` against its
``default``, and the fields annotated ``required`` for the methods given (a resource returned by the API
carries what its insert method requires).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re

import googleapiclient.discovery_cache

DOCUMENTS = os.path.join(os.path.dirname(googleapiclient.discovery_cache.__file__), "documents")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
POSSIBLE = re.compile(r'^- "([^"]+)"', re.M)
INT32 = (-(2 ** 31), 2 ** 31 - 1)
UINT32 = (0, 2 ** 32 - 1)


@functools.cache
def load(name: str) -> Discovery:
    with open(os.path.join(DOCUMENTS, name + ".json"), encoding="utf-8") as fh:
        return Discovery(json.load(fh))


class Discovery:
    def __init__(self, doc: dict):
        self.doc = doc
        self.schemas = doc["schemas"]
        self.methods: dict[str, dict] = {}
        self._collect(doc.get("resources") or {})

    def _collect(self, resources: dict) -> None:
        for res in resources.values():
            for method in (res.get("methods") or {}).values():
                self.methods[method["id"]] = method
            self._collect(res.get("resources") or {})

    def response(self, method_id: str) -> str:
        return self.methods[method_id]["response"]["$ref"]

    # ------------------------------------------------------------------ validation

    def validate(self, value, schema: str | dict, required_for=(), write_only=(), path: str = "$") -> list[str]:
        """Problems of ``value`` against ``schema`` (a schema name or a schema dict); empty when it fits."""
        errors: list[str] = []
        self._check(value, schema if isinstance(schema, dict) else {"$ref": schema}, path, errors,
                    set(required_for), set(write_only), None)
        return errors

    def _check(self, value, schema: dict, path: str, errors: list, required_for: set, write_only: set,
               name: str | None) -> None:
        if "$ref" in schema:
            name = schema["$ref"]
            schema = self.schemas[name]
        kind = schema.get("type")
        if kind == "any" or kind is None and "properties" not in schema:
            return
        if kind == "object" or (kind is None and "properties" in schema):
            self._object(value, schema, path, errors, required_for, write_only, name)
        elif kind == "array":
            if not isinstance(value, list):
                errors.append(f"{path}: expected array, got {type(value).__name__}")
                return
            for i, item in enumerate(value):
                self._check(item, schema.get("items") or {"type": "any"}, f"{path}[{i}]", errors, required_for,
                            write_only, None)
        elif kind == "string":
            self._string(value, schema, path, errors)
        elif kind == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                errors.append(f"{path}: expected integer, got {value!r}")
                return
            bounds = {"int32": INT32, "uint32": UINT32}.get(schema.get("format"))
            if bounds and not bounds[0] <= value <= bounds[1]:
                errors.append(f"{path}: {value} out of {schema['format']} range")
            for key, cmp in (("minimum", lambda a, b: a >= b), ("maximum", lambda a, b: a <= b)):
                if key in schema and not cmp(value, int(schema[key])):
                    errors.append(f"{path}: {value} violates {key} {schema[key]}")
        elif kind == "number":
            if not isinstance(value, int | float) or isinstance(value, bool):
                errors.append(f"{path}: expected number, got {value!r}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                errors.append(f"{path}: expected boolean, got {value!r}")
        else:  # pragma: no cover - a discovery type this validator does not know
            errors.append(f"{path}: unknown schema type {kind}")

    def _object(self, value, schema: dict, path: str, errors: list, required_for: set, write_only: set,
                name: str | None) -> None:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected object, got {type(value).__name__}")
            return
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                self._check(item, props[key], f"{path}.{key}", errors, required_for, write_only, None)
            elif isinstance(extra, dict):
                self._check(item, extra, f"{path}.{key}", errors, required_for, write_only, None)
            else:
                errors.append(f"{path}.{key}: not a field of {name or 'this object'}")
        kind_default = (props.get("kind") or {}).get("default")
        if kind_default and "kind" in value and value["kind"] != kind_default:
            errors.append(f"{path}.kind: {value['kind']!r} != {kind_default!r}")
        # Cancelled events are only guaranteed their id (Event.status description), so nothing else is required.
        if required_for and value.get("status") != "cancelled":
            for key, prop in props.items():
                needed = set((prop.get("annotations") or {}).get("required") or ())
                if needed & required_for and key not in value and f"{name}.{key}" not in write_only:
                    errors.append(f"{path}.{key}: required ({', '.join(sorted(needed & required_for))})")

    def _string(self, value, schema: dict, path: str, errors: list) -> None:
        if not isinstance(value, str):
            errors.append(f"{path}: expected string, got {value!r}")
            return
        fmt = schema.get("format")
        if fmt in ("date-time", "google-datetime") and not RFC3339.match(value):
            errors.append(f"{path}: {value!r} is not an RFC 3339 date-time")
        elif fmt == "date" and not DATE.match(value):
            errors.append(f"{path}: {value!r} is not a yyyy-mm-dd date")
        elif fmt == "int64" and not re.fullmatch(r"-?\d+", value):
            errors.append(f"{path}: {value!r} is not an int64 string")
        elif fmt == "uint64" and not re.fullmatch(r"\d+", value):
            errors.append(f"{path}: {value!r} is not a uint64 string")
        elif fmt == "byte":
            try:
                base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            except (binascii.Error, ValueError):
                errors.append(f"{path}: {value!r} is not base64")
        allowed = schema.get("enum") or POSSIBLE.findall(schema.get("description") or "")
        if allowed and value not in allowed:
            errors.append(f"{path}: {value!r} not one of {allowed}")
