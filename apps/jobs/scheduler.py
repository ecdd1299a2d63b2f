"""ARCHITECTURE §5, the scheduler: `manage.py run_scheduler` does the periodic work every few seconds, one process
active in a fleet (any number started) under a lock: dispatch due and never-sent jobs, requeue or kill stale ones,
reconcile Batch runs with the backend, and run the periodic tasks domains register here.

The lock is a Postgres session advisory lock; SQLite (`make run`) has none, so there it is an exclusive `flock` on
a file next to the database: one scheduler per machine, which is all `make run` starts.
"""

from __future__ import annotations

import fcntl
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# pg_try_advisory_lock(int4, int4): "jobs" and 1, so pg_locks shows it as classid/objid with objsubid 2.
LOCK_CLASS_ID = 0x6A6F6273
LOCK_OBJECT_ID = 1
# Batch is asked about its runs at most this often (one DescribeJobs per 100 runs), not on every 2 s pass.
BATCH_RECONCILE_EVERY_SECONDS = 10
# The active scheduler's last pass (epoch seconds), in the shared cache (Redis in production, the API's and the
# workers'): the deployment readiness check reads it. The lock says a scheduler is alive; this says it still works.
HEARTBEAT_CACHE_KEY = "jobs:scheduler:last_pass"
HEARTBEAT_TTL_SECONDS = 24 * 3600


# ---------------------------------------------------------------------------
# Periodic tasks registry
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PeriodicTask:
    name: str
    # Dotted path of a callable taking no arguments; what it returns is logged.
    function: str
    every_seconds: float

    def __post_init__(self):
        if self.every_seconds <= 0 or not self.name:
            raise ValueError(f"invalid periodic task {self!r}")


_periodic: dict[str, PeriodicTask] = {}


def register_periodic(task: PeriodicTask) -> PeriodicTask:
    """Domains call this in their AppConfig.ready(), as they register job kinds."""
    existing = _periodic.get(task.name)
    if existing is not None and existing != task:
        raise ValueError(f"periodic task {task.name!r} is already registered differently")
    _periodic[task.name] = task
    return task


def all_periodic() -> list[PeriodicTask]:
    return list(_periodic.values())


# ---------------------------------------------------------------------------
# The lock
# ---------------------------------------------------------------------------
class SchedulerLock:
    """Held for as long as this process is the active scheduler; `acquire()` is cheap enough to call every pass
    and tells whether it is (still) held, e.g. after the database connection was replaced."""

    def __init__(self, *, lock_file: Path | None = None):
        self._lock_file = lock_file or Path(settings.DATABASES["default"]["NAME"]).with_suffix(".scheduler.lock")
        self._handle = None

    def acquire(self) -> bool:
        if connection.vendor == "postgresql":
            return self._acquire_postgres()
        return self._acquire_file()

    def release(self) -> None:
        if connection.vendor == "postgresql":
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS_ID, LOCK_OBJECT_ID])
            except DatabaseError:
                pass  # the session is gone, and the lock with it
        elif self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    @staticmethod
    def _acquire_postgres() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                "AND classid = %s AND objid = %s AND objsubid = 2 AND granted)",
                [LOCK_CLASS_ID, LOCK_OBJECT_ID],
            )
            if cursor.fetchone()[0]:
                return True
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS_ID, LOCK_OBJECT_ID])
            return bool(cursor.fetchone()[0])

    def _acquire_file(self) -> bool:
        if self._handle is not None:
            return True
        self._lock_file.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self._lock_file, "a")  # held open for the life of the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True


# ---------------------------------------------------------------------------
# The heartbeat
# ---------------------------------------------------------------------------
def scheduler_heartbeat_record(*, now: float | None = None) -> None:
    """Note that the active scheduler finished a pass; a cache failure is logged and never stops the scheduler."""
    try:
        cache.set(HEARTBEAT_CACHE_KEY, time.time() if now is None else now, HEARTBEAT_TTL_SECONDS)
    except Exception:
        logger.warning("scheduler_heartbeat_failed", exc_info=True)


def scheduler_last_pass() -> float | None:
    """When the active scheduler last finished a pass (epoch seconds), or None if none did within a day."""
    value = cache.get(HEARTBEAT_CACHE_KEY)
    return None if value is None else float(value)


# ---------------------------------------------------------------------------
# One pass
# ---------------------------------------------------------------------------
@dataclass
class PassReport:
    actions: dict[str, int] = field(default_factory=dict)
    periodic: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, action: str) -> None:
        self.actions[action] = self.actions.get(action, 0) + 1


def scheduler_pass(*, periodic_due: Callable[[PeriodicTask], bool] = lambda task: True,
                   reconcile_batch: bool = True) -> PassReport:
    """Stale jobs and due jobs (`job_scan_stuck`), Batch runs (`job_reconcile_batch`, when `reconcile_batch`), then
    the periodic tasks `periodic_due` lets through. A failing part is logged and the others still run."""
    from apps.jobs.services import BATCH_RECONCILE_GRACE_SECONDS, job_reconcile_batch, job_scan_stuck

    report = PassReport()
    try:
        for action, _job in job_scan_stuck().actions:
            report.add(action)
    except Exception:
        logger.exception("scheduler_scan_failed")
        report.errors.append("scan")
    try:
        lines, describe_error = (job_reconcile_batch(grace_seconds=BATCH_RECONCILE_GRACE_SECONDS)
                                 if reconcile_batch else ([], ""))
        for line in lines:
            report.add(f"batch_{line.action}")
        if describe_error:
            report.errors.append("batch_describe")
    except Exception:
        logger.exception("scheduler_batch_reconcile_failed")
        report.errors.append("batch")
    for task in all_periodic():
        if not periodic_due(task):
            continue
        try:
            outcome = import_string(task.function)()
        except Exception:
            logger.exception("scheduler_periodic_failed", extra={"task": task.name})
            report.errors.append(task.name)
            continue
        report.periodic.append(task.name)
        logger.info("scheduler_periodic_ran", extra={"task": task.name, "outcome": str(outcome)[:200]})
    return report


class Scheduler:
    def __init__(self, *, interval: float | None = None, lock: SchedulerLock | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.interval = settings.JOBS_SCHEDULER_INTERVAL_SECONDS if interval is None else interval
        self.lock = lock or SchedulerLock()
        self.clock = clock
        self.stop_event = threading.Event()
        # None until the first tick, so that tick logs whether this process is active or standing by.
        self.active: bool | None = None
        self._last_run: dict[str, float] = {}

    def request_stop(self, *_args) -> None:
        self.stop_event.set()

    def _due(self, name: str, every_seconds: float) -> bool:
        now = self.clock()
        last = self._last_run.get(name)
        if last is not None and now - last < every_seconds:
            return False
        self._last_run[name] = now
        return True

    def _periodic_due(self, task: PeriodicTask) -> bool:
        return self._due(f"periodic:{task.name}", task.every_seconds)

    def tick(self) -> PassReport | None:
        """One pass if this process holds the lock (taking it when free); None while another scheduler is active."""
        try:
            held = self.lock.acquire()
        except DatabaseError:
            logger.exception("scheduler_lock_failed")
            connection.close()  # a new session next time; the lock, if it was held, went with the old one
            held = False
        if held != self.active:
            self.active = held
            self._last_run.clear()
            logger.info("scheduler_active" if held else "scheduler_standby")
        if not held:
            return None
        report = scheduler_pass(periodic_due=self._periodic_due,
                                reconcile_batch=self._due("batch_reconcile", BATCH_RECONCILE_EVERY_SECONDS))
        if report.actions or report.errors:
            logger.info("scheduler_pass", extra={"actions": report.actions, "errors": report.errors})
        scheduler_heartbeat_record()
        return report

    def run(self, *, max_ticks: int | None = None) -> int:
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, self.request_stop)
        logger.info("scheduler_started", extra={"interval": self.interval})
        ticks = 0
        try:
            while not self.stop_event.is_set() and (max_ticks is None or ticks < max_ticks):
                ticks += 1
                self.tick()
                if max_ticks is None or ticks < max_ticks:
                    self.stop_event.wait(self.interval)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.lock.release()
        logger.info("scheduler_stopped")
        return 0
