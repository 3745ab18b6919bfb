"""``manage.py run_workers``: the background workers (a django-q2 cluster) and the sync claim loop, stopped cleanly.

Why not plain ``qcluster``: a SIGTERM to the whole process group (what systemd, Docker and a terminal's Ctrl-C
send) reaches django-q2's sentinel process, whose SIGTERM action is the default one, so it dies at once, in the
middle of waiting on the multiprocessing Event that stops it. The main process then blocks forever in
``stop_event.set()`` (a multiprocessing Condition waits for a sleeper that is gone), ignores every further
SIGTERM, and a second signal arriving after its ``stop()`` finished fails with "'NoneType' object has no
attribute 'set'". A deploy then ends in SIGKILL, in the middle of whatever the workers were doing.

Here:
- the cluster's own processes (sentinel, workers, pusher, monitor) ignore SIGTERM: only this process acts on
  it, whether it was sent to the process or to its group; a worker the guard must kill for running past its
  timeout is killed with SIGKILL instead (it ignores SIGTERM);
- on SIGTERM or SIGINT this process stops the cluster the django-q2 way (the pusher stops taking tasks, each
  worker finishes the task in hand and exits, the monitor saves their results), outside the signal handler, once;
  further signals are only logged. An idle cluster stops in about a second; a busy one when its tasks end
  (a sync task hands its calendar over within ``RUN_BUDGET_SECONDS``);
- meanwhile it claims due calendars every ``--interval`` seconds (``calendar_sync.sync.scheduler``): claims take
  milliseconds and never occupy a worker, and a killed worker's calendar is synced again within
  ``SYNC_LEASE_SECONDS`` + ``--interval``.
Exit status 0 after a clean stop, 1 when the cluster died on its own (let the supervisor restart it).
"""

import logging
import signal
import threading
import time

from django import db
from django.conf import settings
from django.core.management.base import BaseCommand
from django_q.cluster import Cluster, Sentinel

from calendar_sync.sync.scheduler import SCHEDULER_INTERVAL, scheduler_loop

logger = logging.getLogger(__name__)

IDLE = -1  # django-q2's worker timer: -1 idle, > 0 seconds left of the task in hand, 0 timed out


class QuietSentinel(Sentinel):
    """django-q2's sentinel, with SIGTERM ignored in it and in every process it forks (see the module)."""

    def __init__(self, stop_event, start_event, cluster_id, broker=None, timeout=None, start=True):
        super().__init__(stop_event, start_event, cluster_id, broker, timeout, start=False)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # Sentinel.__init__ had just restored the default
        if start:
            self.start()

    def reincarnate(self, process):
        # A worker past its timeout is terminated by the guard; ours ignore SIGTERM, so it gets SIGKILL.
        if process not in (self.monitor, self.pusher) and process.is_alive() and process.timer.value == 0:
            process.kill()
            process.join(timeout=5)
        return super().reincarnate(process)

    def stop(self):
        watchdog = threading.Thread(target=self._kill_idle_holdouts, name="stop-watchdog", daemon=True)
        watchdog.start()
        super().stop()

    def _kill_idle_holdouts(self):
        """While ``stop`` runs: once the pusher is gone (the pills go in right after), SIGKILL any worker still
        alive and idle ``grace`` seconds later. A busy worker is left to finish its task (the guard's timeout
        still bounds it)."""
        grace = settings.WORKER_STOP_IDLE_GRACE
        pills_at = None
        while self.pool:
            time.sleep(0.25)
            if self.pusher.is_alive():
                continue
            pills_at = pills_at or time.monotonic()
            if time.monotonic() - pills_at < grace:
                continue
            for process in list(self.pool):
                if process.is_alive() and process.timer.value == IDLE:
                    logger.warning("run_workers: worker %s idle %.0fs after its stop pill; killed", process.pid,
                                   time.monotonic() - pills_at)
                    process.kill()
                    process.join(timeout=5)


class SupervisedCluster(Cluster):
    """A Cluster whose sentinel is ``QuietSentinel`` and whose stop is driven by ``run_workers``, not by signal
    handlers (``Cluster.__init__`` installs some; ``run_workers`` replaces them)."""

    def start(self):
        import django_q.cluster as cluster_module

        original = cluster_module.Sentinel
        cluster_module.Sentinel = QuietSentinel  # Cluster.start builds the process from the module's name
        try:
            return super().start()
        finally:
            cluster_module.Sentinel = original


class Command(BaseCommand):
    help = (
        "Run the background workers (a django-q2 cluster of Q_WORKERS processes) and claim due calendars every "
        "--interval seconds. SIGTERM or SIGINT, to this process or to its whole process group, stops it cleanly: "
        "tasks in hand finish, nothing new is taken. Use it instead of `qcluster` (see the README's systemd units)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=SCHEDULER_INTERVAL,
                            help="seconds between claims of due calendars (default %(default)s)")
        parser.add_argument("--no-scheduler", action="store_true",
                            help="do not claim calendars here (a separate `sync_scheduler` process does)")

    def handle(self, *args, **options):
        settings.SECRET_KEY  # noqa: B018 - like qcluster: refuse to start without it (tasks are signed)
        signals = []

        def on_signal(signum, frame):
            if signals:
                logger.info("run_workers: stopping already (signal %s ignored)", signum)
            signals.append(signum)

        db.connections.close_all()  # the cluster's processes must not inherit our connections
        cluster = SupervisedCluster()
        signal.signal(signal.SIGTERM, on_signal)  # after Cluster.__init__, which installs its own
        signal.signal(signal.SIGINT, on_signal)
        cluster.start()
        where = "elsewhere" if options["no_scheduler"] else f"every {options['interval']}s"
        self.stdout.write(f"run_workers: cluster {cluster.name} running; claiming due calendars {where}")
        self.stdout.flush()

        def stop():
            return bool(signals) or not cluster.sentinel.is_alive()

        try:
            if options["no_scheduler"]:
                while not stop():
                    time.sleep(0.2)
            else:
                scheduler_loop(seconds=None, interval=options["interval"], stop=stop)
        finally:
            db.connections.close_all()
        if not cluster.sentinel.is_alive():
            self.stderr.write("run_workers: the cluster died; exiting so the supervisor restarts it")
            raise SystemExit(1)
        started = time.monotonic()
        cluster.stop()
        self.stdout.write(f"run_workers: stopped cleanly in {time.monotonic() - started:.1f}s")
        self.stdout.flush()

