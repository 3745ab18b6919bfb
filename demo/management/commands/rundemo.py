"""`make run`: the whole product on one machine, with an emulated Google Workspace tenant.

Starts the Google Workspace emulator and the Webex Meetings emulator (the demo org's meeting service), migrates,
seeds a demo organization (``seed_demo``), then runs the web
server and one django-q2 worker cluster until Ctrl-C. Each child's output is prefixed with its name.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def _pump(name, stream, out):
    for line in iter(stream.readline, ""):
        out.write(f"[{name}] {line}")
        out.flush()


class Command(BaseCommand):
    help = "Run the demo: Google emulator + seeded org + web server + worker (Ctrl-C stops everything)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--emulator-port", type=int, default=8765)
        parser.add_argument("--dns-port", type=int, default=8053)
        parser.add_argument("--webex-port", type=int, default=8766)
        parser.add_argument("--no-seed", action="store_true")

    def handle(self, *args, addr, emulator_port, dns_port, no_seed, **options):
        if not settings.DEBUG:
            raise CommandError("rundemo is for development: run it through `make run` (DEBUG=1).")
        self.children = []
        self.webex_port = options.get("webex_port") or 8766
        signal.signal(signal.SIGTERM, lambda *_: self._stop_and_exit())
        try:
            self._run(addr, emulator_port, dns_port, no_seed)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop()

    def _spawn(self, name, argv, env=None):
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            env={**os.environ, **(env or {})}, cwd=settings.BASE_DIR,
        )
        threading.Thread(target=_pump, args=(name, proc.stdout, self.stdout._out), daemon=True).start()
        self.children.append((name, proc))
        return proc

    def _run(self, addr, emulator_port, dns_port, no_seed):
        base = settings.GOOGLE_API_ENDPOINT or f"http://127.0.0.1:{emulator_port}"
        self.stdout.write(f"Starting the Google Workspace emulator on {base} (DNS on 127.0.0.1:{dns_port})…")
        self._spawn("google", [sys.executable, "-m", "google_emulator", "--port", str(emulator_port),
                               "--dns-port", str(dns_port), "--allow-insecure-webhooks"])
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(base + "/_emulator/stats", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise CommandError(f"The emulator did not start on {base}.") from None
                time.sleep(0.1)

        # The demo org's meeting service: an emulated Webex site (the web server and worker inherit its URL).
        webex = f"http://127.0.0.1:{self.webex_port}"
        self.stdout.write(f"Starting the Webex Meetings emulator on {webex}…")
        self._spawn("webex", [sys.executable, "-m", "webex_emulator", "--port", str(self.webex_port)])
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(webex + "/_emulator/sites", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise CommandError(f"The Webex emulator did not start on {webex}.") from None
                time.sleep(0.1)
        os.environ["WEBEX_API_BASE"] = settings.WEBEX_API_BASE = webex + "/v1"

        os.makedirs(settings.BASE_DIR / "var", exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("install_schedules", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        if not no_seed:
            call_command("seed_demo", emulator=base, webex=webex)

        self._spawn("worker", [sys.executable, "manage.py", "qcluster"])
        host = addr if ":" in addr else f"127.0.0.1:{addr}"
        # The ASGI server, as in production: pages on a thread pool, live updates pushed to open pages.
        web_host, web_port = host.rsplit(":", 1)
        self._spawn("web", [sys.executable, "-m", "uvicorn", "controlhub.asgi:application", "--host", web_host,
                            "--port", web_port, "--no-access-log", "--timeout-graceful-shutdown", "3"])
        self.stdout.write(self.style.SUCCESS(
            "\nCalendar Hub demo is starting.\n"
            f"  Open       http://{host}/\n"
            "  Admin      admin@demo.example.com / demo-admin-pass\n"
            "  User       ana@demo.example.com / demo-user-pass\n"
            "  Rooms      Workspaces page; each room display's URL is printed above\n"
            f"  Google     emulated at {base} (control API under /_emulator/)\n"
            f"  Webex      emulated at {webex} (site demo.webex.com; control API under /_emulator/)\n"
            "  Stop       Ctrl-C\n"
        ))
        while True:
            for name, proc in self.children:
                if proc.poll() is not None:
                    raise CommandError(f"{name} exited with status {proc.returncode}; stopping the demo.")
            time.sleep(0.5)

    def _stop(self):
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in self.children:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.children = []

    def _stop_and_exit(self):
        self._stop()
        sys.exit(0)
