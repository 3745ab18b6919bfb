"""`make run`: the whole product on one machine, with an emulated Google Workspace tenant.

Starts the Google Workspace emulator, the Webex Meetings emulator (the demo org's meeting service) and the
BigBlueButton API emulator (pre-filled on the Meeting service page, to switch to), migrates, seeds a demo
organization (``seed_demo``), then runs the web server (uvicorn, as in production) and the background
workers (``run_workers``) until Ctrl-C.

Stopping: every child runs in its own process group, so a terminal's Ctrl-C reaches this process only; it then
sends SIGTERM to each child's group (web first, emulators last), waits up to ``STOP_DEADLINE`` seconds for all of
them and SIGKILLs the groups still alive. Nothing outlives the demo.

The console shows one line per thing that happened (what started, URLs, credentials, the device token, the room
displays); ``--verbose`` adds the children's logs (task runs, access logs, emulator requests).

State: the database (``DATABASE_URL``, default ``var/calendarhub.sqlite3``) and the Google emulator's world
(``google-emulator.json`` in ``--data-dir``, written on a clean stop) are kept together. By default each run
re-seeds both (a fresh emulated tenant and the org's mirror reset to it); ``--no-seed`` keeps both as they were.
"""

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

STOP_DEADLINE = 8.0
BBB_SECRET = "demo-bbb-shared-secret"  # the BigBlueButton emulator's shared secret (what `bbb-conf --secret` shows)
# Lines a child prints that say nothing to a newcomer (the emulators print their own URL, said here already).
_NOISE = re.compile(r"^(http://\S+|dns: \S+)$")


def _pump(name, stream, out, verbose):
    for line in iter(stream.readline, ""):
        if not verbose and _NOISE.match(line.strip()):
            continue
        out.write(f"[{name}] {line}")
        out.flush()


def default_data_dir():
    """Next to the database when it is a SQLite file, else ``var/``."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3") and str(db.get("NAME", "")) not in ("", ":memory:"):
        return Path(db["NAME"]).parent
    return Path(settings.BASE_DIR) / "var"


class Command(BaseCommand):
    help = "Run the demo: Google emulator + seeded org + web server + worker (Ctrl-C stops everything)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--emulator-port", type=int, default=8765)
        parser.add_argument("--dns-port", type=int, default=8053)
        parser.add_argument("--webex-port", type=int, default=8766)
        parser.add_argument("--bbb-port", type=int, default=8767)
        parser.add_argument("--data-dir", default="", help="where the emulator's state is kept (default: next "
                                                           "to the SQLite database, else var/)")
        parser.add_argument("--no-seed", action="store_true",
                            help="keep the database and the emulator's saved world as they are")
        parser.add_argument("--no-activity", action="store_true",
                            help="do not change a few demo events a minute")
        parser.add_argument("--verbose", action="store_true",
                            help="show the children's logs: task runs, access logs, emulator requests")

    def handle(self, *args, addr, emulator_port, dns_port, no_seed, **options):
        if not settings.DEBUG:
            raise CommandError("rundemo is for development: run it through `make run` (DEBUG=1).")
        self.children = []
        self.verbose = bool(options.get("verbose"))
        self.webex_port = options.get("webex_port") or 8766
        self.bbb_port = options.get("bbb_port") or 8767
        self.data_dir = Path(options.get("data_dir") or default_data_dir())
        self.stopping = threading.Event()
        if not self.verbose:
            logging.getLogger().setLevel(logging.WARNING)  # seeding runs tasks inline: no line per task
            logging.getLogger("django-q").setLevel(logging.WARNING)
            logging.getLogger("googleapiclient").setLevel(logging.ERROR)  # the seed's summary says who is in error
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            self._run(addr, emulator_port, dns_port, no_seed, activity=not options.get("no_activity"))
        except KeyboardInterrupt:
            pass
        finally:
            self._stop()

    def _on_signal(self, signum, frame):
        if not self.stopping.is_set():
            self.stopping.set()
            raise KeyboardInterrupt

    def _say(self, line):
        self.stdout.write(line)
        self.stdout.flush()

    def _spawn(self, name, argv, env=None):
        quiet = {} if self.verbose else {"LOG_LEVEL": "WARNING", "Q_LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            env={**os.environ, **quiet, **(env or {})}, cwd=settings.BASE_DIR,
            start_new_session=True,  # its own process group: Ctrl-C reaches us, and we stop it with its children
        )
        threading.Thread(target=_pump, args=(name, proc.stdout, self.stdout._out, self.verbose),
                         daemon=True).start()
        self.children.append((name, proc))
        return proc

    def _wait_up(self, url, what):
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).read()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise CommandError(f"{what} did not start on {url}.") from None
                time.sleep(0.1)

    def _run(self, addr, emulator_port, dns_port, no_seed, activity):
        base = settings.GOOGLE_API_ENDPOINT or f"http://127.0.0.1:{emulator_port}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        state_file = self.data_dir / "google-emulator.json"
        if not no_seed and state_file.exists():
            state_file.unlink()  # re-seeded below, together with the database's mirror of it
        argv = [sys.executable, "-m", "google_emulator", "--port", str(emulator_port), "--dns-port", str(dns_port),
                "--allow-insecure-webhooks", "--state", str(state_file)]
        self._spawn("google", argv + (["--verbose"] if self.verbose else []))
        self._wait_up(base + "/_emulator/stats", "The Google Workspace emulator")
        self._say(f"Google Workspace emulator: {base} (DNS on 127.0.0.1:{dns_port}; state kept in {state_file})")

        # The demo org's meeting service: an emulated Webex site (the web server and worker inherit its URL).
        webex = f"http://127.0.0.1:{self.webex_port}"
        self._spawn("webex", [sys.executable, "-m", "webex_emulator", "--port", str(self.webex_port)]
                    + (["--verbose"] if self.verbose else []))
        self._wait_up(webex + "/_emulator/sites", "The Webex emulator")
        os.environ["WEBEX_API_BASE"] = settings.WEBEX_API_BASE = webex + "/v1"
        self._say(f"Webex Meetings emulator: {webex} (site demo.webex.com)")

        # A BigBlueButton server to switch the demo org to (Meeting service page, pre-filled by the seed).
        bbb = f"http://127.0.0.1:{self.bbb_port}/bigbluebutton/api/"
        self._spawn("bbb", [sys.executable, "-m", "bbb_emulator", "--port", str(self.bbb_port),
                            "--secret", BBB_SECRET] + (["--verbose"] if self.verbose else []))
        self._wait_up(f"http://127.0.0.1:{self.bbb_port}/_emulator/config", "The BigBlueButton emulator")
        self._say(f"BigBlueButton API emulator: {bbb} (shared secret {BBB_SECRET})")

        os.makedirs(settings.BASE_DIR / "var", exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("install_schedules", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        if not no_seed:
            self._say("Seeding the demo organization (the real flows: verify, Test connection, activate)…")
            from django_q.models import OrmQ

            OrmQ.objects.all().delete()  # tasks queued by a previous run were about the world just replaced
            call_command("seed_demo", emulator=base, webex=webex, bbb=bbb, bbb_secret=BBB_SECRET)
        else:
            self._say("Kept the database and the emulator's saved world (--no-seed).")

        self._spawn("worker", [sys.executable, "manage.py", "run_workers"])
        host = addr if ":" in addr else f"127.0.0.1:{addr}"
        # The ASGI server, as in production: pages on a thread pool, live updates pushed to open pages.
        web_host, web_port = host.rsplit(":", 1)
        web_argv = [sys.executable, "-m", "uvicorn", "controlhub.asgi:application", "--host", web_host,
                    "--port", web_port, "--timeout-graceful-shutdown", "3"]
        web_argv += [] if self.verbose else ["--no-access-log", "--log-level", "warning"]
        self._spawn("web", web_argv)
        self._wait_up(f"http://{host}/healthz", "The web server")
        if activity:
            from demo.activity import ActivityGenerator

            ActivityGenerator(base, stop=self.stopping, out=self._say if self.verbose else None).start()
        self.stdout.write(self.style.SUCCESS(
            "\nCalendar Hub demo is running.\n"
            f"  Open       http://{host}/\n"
            "  Admin      admin@demo.example.com / demo-admin-pass\n"
            "  User       ana@demo.example.com / demo-user-pass\n"
            "  Rooms      Workspaces page; each room display's URL is printed above\n"
            f"  Google     emulated at {base} (control API under /_emulator/)\n"
            f"  Webex      emulated at {webex} (site demo.webex.com; control API under /_emulator/)\n"
            f"  BBB        BigBlueButton emulated at {bbb} (secret {BBB_SECRET}); to try it, open\n"
            f"             http://{host}/meeting-service/, choose BigBlueButton (URL and secret filled in), Save\n"
            + ("  Activity   a few demo events change every minute (--no-activity to keep them still)\n"
               if activity else "")
            + "  Logs       --verbose shows task runs and requests\n"
            "  Stop       Ctrl-C\n"
        ))
        self.stdout.flush()
        while True:
            for name, proc in self.children:
                if proc.poll() is not None:
                    raise CommandError(f"{name} exited with status {proc.returncode}; stopping the demo.")
            time.sleep(0.5)

    def _stop(self):
        """SIGTERM to each child's process group (web first), a shared deadline, then SIGKILL what is left."""
        self.stopping.set()
        if not self.children:
            return
        self._say("Stopping…")
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + STOP_DEADLINE
        for name, proc in self.children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._say(f"{name} did not stop within {STOP_DEADLINE:.0f}s: killed.")
        for _, proc in self.children:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the group's leftovers (a child's own children), if any
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        self.children = []
        self._say("Demo stopped.")
