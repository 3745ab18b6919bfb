"""People and activation figures: CSV dry run + import of 10,000 rows, the admin's request that starts a bulk
activation, and bulk activation of 5,000 users against the emulator with Google's Calendar quotas switched on.

Run: ``.venv/bin/python -m bench.bench_activation``. Standalone: a temporary SQLite file DB, the emulator
in-process. Prints figures, asserts nothing.

Quotas: ``PUT /_emulator/quota {"per_project_per_minute": 10000, "per_user_per_minute": 600, "time_scale": X}``;
``time_scale`` scales Google's one-minute sliding window to ``60 * X`` seconds (knob ``BENCH_TIME_SCALE``, default
1.0: a real minute). The default is the real minute because this machine validates about 100 people/s (the
emulator runs in the same process), which is below Google's 10,000 calls/min only at full scale: a compressed
minute would measure this process's CPU, not the quota. The quota counts Calendar API calls; token requests are not
counted (as at Google).

Validations run on a thread pool in this process (``BENCH_WORKERS``, default 8) calling the same
``person_validate`` the queue worker calls; the emulator runs in this process too, so the CPU figure per
activation includes both sides of every HTTP exchange.

Knobs: ``BENCH_CSV_ROWS`` (10000), ``BENCH_ACTIVATIONS`` (5000), ``BENCH_TIME_SCALE`` (1.0), ``BENCH_WORKERS`` (8).
"""

import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import bench_environment

TMP = Path(tempfile.mkdtemp(prefix="bench_activation_"))
CSV_ROWS = int(os.environ.get("BENCH_CSV_ROWS", "10000"))
ACTIVATIONS = int(os.environ.get("BENCH_ACTIVATIONS", "5000"))
TIME_SCALE = float(os.environ.get("BENCH_TIME_SCALE", "1.0"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "8"))
PER_PROJECT = 10_000
PER_USER = 600


def setup_env(emulator_url, key_file):
    os.environ.update(bench_environment(
        TMP, GOOGLE_API_ENDPOINT=emulator_url, GOOGLE_SERVICE_ACCOUNT_FILE=str(key_file)))


def bench_csv(org):
    from controlhub.people import csv_import
    from controlhub.people.models import Person

    lines = ["email,name,language,time_zone"] + [
        f"user{i:05d}@bench.test,User {i},{'fr' if i % 3 else ''},{'Europe/Paris' if i % 2 else ''}"
        for i in range(CSV_ROWS)
    ]
    raw = ("\n".join(lines) + "\n").encode()
    t0 = time.perf_counter()
    job = csv_import.csv_import_prepare(organization=org, raw=raw, filename="bench.csv")
    t1 = time.perf_counter()
    csv_import.csv_import_confirm(job=job)
    csv_import.csv_import_run(job_id=job.pk)  # what the queue worker runs
    t2 = time.perf_counter()
    n = Person.objects.filter(organization=org).count()
    print(f"CSV: {CSV_ROWS} rows ({len(raw) / 1024:.0f} KiB): dry run {t1 - t0:.2f}s, import {t2 - t1:.2f}s, "
          f"end to end {t2 - t0:.2f}s = {CSV_ROWS / (t2 - t0):,.0f} rows/s (target < 20 s); {n} people in DB")


def bench_request(org, admin, ids):
    """The admin's POST that starts a bulk job: it only creates the BulkJob and enqueues it."""
    from django.test import Client
    from django.urls import reverse

    from controlhub.people.models import Person

    client = Client()
    client.force_login(admin)
    client.post(reverse("people_bulk"), {})  # warm up (URL resolver, middleware), as a running server would be
    timings = {}
    for label, data in [
        (f"everyone ({Person.objects.count():,} people)", {"action": "activate", "selection": "all"}),
        ("a page of 50 selected", {"action": "activate", "selection": "ids", "ids": [str(i) for i in ids[:50]]}),
    ]:
        t0 = time.perf_counter()
        response = client.post(reverse("people_bulk"), data)
        timings[label] = (time.perf_counter() - t0) * 1000
        assert response.status_code == 302, response.status_code
    for label, ms in timings.items():
        print(f"admin request to start a bulk job, {label}: {ms:.0f} ms (target < 300 ms)")
    from controlhub.people import activation
    from controlhub.people.models import BulkJob

    BulkJob.objects.all().delete()  # those were timing only; the queue is not running here
    # The same job for exactly the 5,000 users that exist in Google (the page posts at most a page of ids).
    return activation.bulk_job_start(organization=org, kind="activate", selection="ids", ids=ids, actor=admin)


def bench_activation(emu, control, job):
    from controlhub.people import activation
    from controlhub.people.models import Person

    control.quota(per_project_per_minute=PER_PROJECT, per_user_per_minute=PER_USER, time_scale=TIME_SCALE)
    window = 60 * TIME_SCALE
    stats0 = control.stats()
    seq0 = control.requests()["next"]
    cpu0, t0 = time.process_time(), time.perf_counter()
    job = activation.bulk_job_run(job_id=job.pk)  # what the queue worker runs: set-based, chunked
    t_job = time.perf_counter() - t0
    pending = list(Person.objects.filter(calendar_state="pending").values_list("pk", flat=True))
    rounds = 0
    while pending:
        rounds += 1
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda pk: activation.person_validate(person_id=pk), pending))
        # Retries that were scheduled (rate limits beyond the gateway's own retries) are due at once here.
        from django.utils import timezone

        Person.objects.filter(calendar_state="pending").update(next_retry_at=timezone.now())
        pending = list(Person.objects.filter(calendar_state="pending").values_list("pk", flat=True))
        if rounds > 6:
            break
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    states = dict(Person.objects.filter(pk__in=job.payload["ids"]).values_list("calendar_state").annotate(
        n=__import__("django.db.models", fromlist=["Count"]).Count("id")).order_by())
    stats1 = control.stats()
    calendar_calls = sum(stats1["calls_by_method"].values()) - sum(stats0["calls_by_method"].values())
    requests = [r for r in _all_requests(control, seq0)]
    tokens = sum(1 for r in requests if r.get("api_method") == "oauth2.token" and r.get("status") == 200)
    limited = sum(1 for r in requests if r.get("status") in (403, 429))
    n = states.get("activated", 0)
    per_activation_calls = calendar_calls / max(n, 1)
    minimum = (calendar_calls / PER_PROJECT) * window
    print(f"bulk activation of {len(job.payload['ids'])} users, quota {PER_PROJECT}/min/project, {PER_USER}/min/user, "
          f"time_scale {TIME_SCALE} (a minute = {window:.1f}s), {WORKERS} worker threads:")
    print(f"  states after: {states}; job (set-based state change + enqueue) {t_job:.2f}s; rounds {rounds}")
    print(f"  wall {wall:.2f}s = {n / wall:,.0f} activations/s; quota minimum {minimum:.2f}s "
          f"(Calendar calls / quota per minute x window); ratio {wall / minimum if minimum else 0:.2f} (target <= 1.15)")
    print(f"  Google calls per activation: {per_activation_calls:.2f} Calendar + {tokens / max(n, 1):.2f} token; "
          f"rate-limited responses: {limited}")
    print(f"  CPU per activation: {1000 * cpu / max(n, 1):.2f} ms (this process, emulator included)")


def _all_requests(control, since):
    out = []
    while True:
        page = control.requests(since)
        items = page["requests"]
        if not items:
            return out
        out.extend(items)
        since = items[-1]["seq"]


def main():
    from google_emulator import server as emulator_server
    from google_emulator.client import EmulatorControl
    from google_emulator.server import Emulator

    # The emulator writes a response's headers and body in two sends; without TCP_NODELAY each response then
    # waits ~40 ms for the client's delayed ACK (Nagle). Real Google does not add that; neither should the bench.
    emulator_server._Handler.disable_nagle_algorithm = True
    emu = Emulator(host="127.0.0.1", port=0, allow_insecure_webhooks=True)
    emu.start()
    control = EmulatorControl(emu.base_url)
    key = control.service_account(project_id="bench")
    key_file = TMP / "sa.json"
    key_file.write_text(json.dumps(key))
    setup_env(emu.base_url, key_file)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from controlhub.people.models import Person
    from controlhub.tenancy.models import Domain
    from controlhub.tenancy.orgs import organization_create

    emails = [f"user{i:05d}@bench.test" for i in range(ACTIVATIONS)]
    t0 = time.perf_counter()
    control.tenant("bench.test", "Bench")
    for email in emails:
        control.user(email)
    control.delegate("bench.test", key["client_id"], [
        "https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/gmail.settings.basic",
    ])
    print(f"bench_activation: seeded {len(emails)} Google users in {time.perf_counter() - t0:.1f}s; DB {TMP}")
    org, admin, _ = organization_create(name="Bench", admin_email="admin@bench.test", admin_password="x" * 20)
    org.setup_state = "ready"
    org.save(update_fields=["setup_state"])
    Domain.objects.create(organization=org, name="bench.test", state=Domain.State.VERIFIED)
    bench_csv(org)
    ids = list(Person.objects.filter(email__in=emails).order_by("pk").values_list("pk", flat=True))
    job = bench_request(org, admin, ids)
    bench_activation(emu, control, job)
    emu.stop()


if __name__ == "__main__":
    main()
