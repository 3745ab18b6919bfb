"""CSV import of people: a dry run that reports every problem before anything changes, then a background import.

The file: a header row with ``email`` and ``name`` (any case, any order), optionally ``language`` and
``time_zone``; UTF-8 (with or without BOM), comma or semicolon separated. Whole-file problems (encoding, binary,
size, missing column) stop everything; row problems are listed one by one and those rows are skipped.
"""

import csv
import io
import zoneinfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from controlhub.people import jobs
from controlhub.people.models import BulkJob, Person
from controlhub.people.services import (
    FORMULA_PREFIXES,
    NAME_PROBLEMS,
    email_is_valid,
    email_normalize,
    name_problems,
    verified_domains,
)
from controlhub.tenancy.orgs import audit_record
from controlhub.tenancy.queue import enqueue_after_commit

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
IMPORT_CHUNK = 1000

COLUMN_ALIASES = {
    "email": "email", "e-mail": "email", "email address": "email", "primary email": "email",
    "name": "name", "full name": "name", "display name": "name",
    "language": "language", "lang": "language", "locale": "language",
    "time_zone": "time_zone", "time zone": "time_zone", "timezone": "time_zone", "tz": "time_zone",
}
REQUIRED = ("email", "name")

# Row issue codes: (level, message). "error" rows are skipped; "warning" rows are imported; "info" skipped.
ISSUES = {
    "malformed_email": ("error", _("Not a valid email address.")),
    "duplicate": ("error", _("Duplicate of line %(line)s in this file.")),
    # formula, control_character, name_too_long: the name checks shared with the add form and directory import
    **{code: ("error", message) for code, message in NAME_PROBLEMS.items()},
    "bad_language": ("error", _("Unknown language %(value)s (use en, fr or ko, or leave empty).")),
    "bad_time_zone": ("error", _("Unknown time zone %(value)s (use an IANA name like Europe/Paris).")),
    "already_present": ("info", _("Already in your organization; left unchanged.")),
    "domain_not_verified": (
        "warning",
        _("Domain %(domain)s is not verified. The person is added, and can be activated once the domain is "
          "verified or after they verify their email by signing in with the link we send them."),
    ),
}


class CsvFileError(Exception):
    """The whole file is unusable; ``str(exc)`` says why and what to do."""


def issue_message(issue):
    level, template = ISSUES[issue["code"]]
    return str(template) % issue.get("args", {})


def _decode(raw):
    if len(raw) > MAX_BYTES:
        raise CsvFileError(
            _("The file is %(mb).1f MB; the limit is %(limit)d MB. Split it into smaller files.")
            % {"mb": len(raw) / 1048576, "limit": MAX_BYTES // 1048576}
        )
    if not raw.strip():
        raise CsvFileError(_("The file is empty."))
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(raw) > 3 and raw[1:4:2] == b"\x00\x00"):
        raise CsvFileError(
            _("The file is encoded as UTF-16. Save it as \"CSV UTF-8 (comma delimited)\" and upload it again.")
        )
    sample = raw[:8192]
    if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample) > len(sample) // 100:
        raise CsvFileError(_("This is not a text file. Upload a CSV file (UTF-8) with a header row."))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CsvFileError(
            _("The file is not UTF-8 (an invalid byte on line %(line)d; it looks like Latin-1 / Windows-1252). "
              "Save it as \"CSV UTF-8 (comma delimited)\" and upload it again.") % {"line": line}
        ) from exc


def _reader(text):
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _columns(header):
    mapping = {}
    for index, cell in enumerate(header):
        key = COLUMN_ALIASES.get(cell.strip().lower().replace("_", " ").replace("-", " ")) or COLUMN_ALIASES.get(
            cell.strip().lower()
        )
        if key and key not in mapping:
            mapping[key] = index
    missing = [name for name in REQUIRED if name not in mapping]
    if missing:
        raise CsvFileError(
            _("The header row must have the columns email and name (optional: language, time_zone). Missing: "
              "%(missing)s. Found: %(found)s.")
            % {"missing": ", ".join(missing), "found": ", ".join(c.strip() for c in header if c.strip())[:200]
               or "-"}
        )
    return mapping


def csv_dry_run(*, organization, raw):
    """Check every row; change nothing. Returns a report dict (raises ``CsvFileError`` for whole-file problems).

    ``report["rows"]`` holds the rows that an import would add: ``[email, name, language, time_zone]``.
    """
    text = _decode(raw)
    reader = _reader(text)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise CsvFileError(_("The file has no header row.")) from exc
    columns = _columns(header)
    existing = set(Person.objects.filter(organization=organization).values_list("email", flat=True))
    verified = verified_domains(organization)
    languages = {code for code, _name in settings.LANGUAGES}
    zones = zoneinfo.available_timezones()
    seen = {}
    rows, issues = [], []
    counts = {"total": 0, "new": 0, "error": 0, "warning": 0, "already_present": 0}

    def cell(record, key):
        index = columns.get(key)
        return record[index].strip() if index is not None and index < len(record) else ""

    try:
        for record in reader:
            line = reader.line_num
            if not any(c.strip() for c in record):
                continue
            counts["total"] += 1
            if counts["total"] > MAX_ROWS:
                raise CsvFileError(_("More than %(n)d rows; split the file.") % {"n": MAX_ROWS})
            raw_email, name = cell(record, "email"), cell(record, "name")
            language, tz = cell(record, "language").lower(), cell(record, "time_zone")
            email = email_normalize(raw_email)
            row_issues = []
            if not email_is_valid(email):
                row_issues.append({"code": "malformed_email"})
            elif email in seen:
                row_issues.append({"code": "duplicate", "args": {"line": seen[email]}})
            name_issues = name_problems(name)
            if raw_email.startswith(FORMULA_PREFIXES):  # one formula issue per row, the email's first
                row_issues.append({"code": "formula", "args": {"char": repr(raw_email[0])}})
                name_issues = [i for i in name_issues if i["code"] != "formula"]
            row_issues.extend(name_issues)
            if language and language.replace("_", "-").split("-")[0] not in languages:
                row_issues.append({"code": "bad_language", "args": {"value": repr(language[:20])}})
            if tz and tz not in zones:
                row_issues.append({"code": "bad_time_zone", "args": {"value": repr(tz[:64])}})
            if not row_issues and email in existing:
                row_issues.append({"code": "already_present"})
            if not row_issues and email.rsplit("@", 1)[-1] not in verified:
                row_issues.append({"code": "domain_not_verified", "args": {"domain": email.rsplit("@", 1)[-1]}})
            if email_is_valid(email):
                seen.setdefault(email, line)
            levels = {ISSUES[i["code"]][0] for i in row_issues}
            for item in row_issues:
                issues.append({"line": line, "email": raw_email[:320], **item})
            if "error" in levels:
                counts["error"] += 1
            elif "info" in levels:
                counts["already_present"] += 1
            else:
                counts["warning"] += "warning" in levels
                counts["new"] += 1
                rows.append([email, name, language, tz])
    except csv.Error as exc:
        raise CsvFileError(
            _("The file is not a valid CSV (line %(line)d: %(error)s).") % {"line": reader.line_num, "error": exc}
        ) from exc
    if counts["total"] == 0:
        raise CsvFileError(_("The file has a header row but no people."))
    return {"counts": counts, "issues": issues, "rows": rows}


@transaction.atomic
def csv_import_prepare(*, organization, raw, filename="", actor=None):
    """Dry run and keep the result as a BulkJob awaiting confirmation (nothing else changes)."""
    report = csv_dry_run(organization=organization, raw=raw)
    job = BulkJob.objects.create(
        organization=organization, kind=BulkJob.Kind.CSV_IMPORT, created_by=actor if actor and
        actor.is_authenticated else None, total=len(report["rows"]),
        payload={"confirmed": False, "filename": filename[:200], "rows": report["rows"]},
        result={"counts": report["counts"], "issues": report["issues"]},
        message="dry_run",
    )
    return job


@transaction.atomic
def csv_import_confirm(*, job, actor=None):
    """The admin saw the dry run and confirmed: enqueue the import."""
    job = BulkJob.objects.select_for_update().get(pk=job.pk)
    if job.kind != BulkJob.Kind.CSV_IMPORT or job.payload.get("confirmed"):
        return job
    job.payload = {**job.payload, "confirmed": True}
    job.message = ""
    job.save(update_fields=["payload", "message"])
    audit_record(organization=job.organization, actor=actor, action="people.csv_import", target=job,
                 detail={"rows": job.total})
    enqueue_after_commit(csv_import_run_task, job.pk)
    return job


def csv_import_run(*, job_id):
    """Insert the confirmed rows in chunks (``bulk_create``, ignoring emails added meanwhile)."""
    job = BulkJob.objects.get(pk=job_id)
    if not job.payload.get("confirmed") or job.state in (BulkJob.State.DONE, BulkJob.State.FAILED):
        return
    jobs.bulk_job_started(job=job)
    rows = job.payload.get("rows", [])
    created_total = 0
    try:
        for start in range(0, len(rows), IMPORT_CHUNK):
            chunk = rows[start:start + IMPORT_CHUNK]
            with transaction.atomic():
                existing = set(
                    Person.objects.filter(
                        organization_id=job.organization_id, email__in=[r[0] for r in chunk]
                    ).values_list("email", flat=True)
                )
                now = timezone.now()
                new = [
                    Person(organization_id=job.organization_id, email=email, name=name, language=language,
                           time_zone=tz, created_at=now, state_changed_at=now)
                    for email, name, language, tz in chunk if email not in existing
                ]
                Person.objects.bulk_create(new, ignore_conflicts=True)
                created_total += len(new)
                jobs.bulk_job_progress(job=job, done=len(chunk))
    except Exception as exc:
        jobs.bulk_job_failed(job=job, message=exc)
        raise
    result = {**job.result, "created": created_total}
    # The rows are no longer needed; keep the report.
    jobs.bulk_job_finished(job=job, result=result,
                           payload={"confirmed": True, "filename": job.payload.get("filename", ""), "rows": []})


def csv_import_run_task(job_id):
    """Background entry point (django-q2: positional ids only)."""
    csv_import_run(job_id=job_id)
