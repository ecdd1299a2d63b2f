"""ARCHITECTURE §2, dispatch: which backend, queue and handler each job kind uses.

Domain apps register their kinds in their AppConfig.ready(), so the API and every worker see the same table.
"""

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.utils.module_loading import import_string

from apps.jobs import tiers
from apps.jobs.errors import UnknownJobKindError

# Hooks are resolved on hot paths (every status poll asks for the presenter): import each dotted path once.
_import = functools.cache(import_string)


@dataclass(frozen=True)
class JobKindSpec:
    kind: str
    backend: Literal["queue", "batch"]
    queue_setting: str | None
    handler: str
    # Staleness limit, seconds: a RUNNING job whose heartbeat is older may be taken over or requeued (≤ 30 for a
    # queue kind: docs/jobs.md shows how it bounds recovery).
    heartbeat_timeout: int
    max_attempts: int = 3
    # Backoff before attempt n+1 after a retryable failure of attempt n: base·2^(n-1) capped at the max, of which
    # the second half is random jitter (so never less than half of it). Held by Job.not_before.
    retry_backoff_seconds: float = 5.0
    retry_backoff_max_seconds: float = 300.0
    # Fair share: at most this many jobs of the kind per academy (and overall) hold a slot, i.e. are RUNNING or sent
    # and not yet claimed; 0 = no cap. The rest wait QUEUED and are sent oldest first, across academies, as slots
    # free. Keep the per-academy cap at or under the fleet's worker count so another academy waits one job at most.
    # A string names the setting that holds the number (read at each dispatch).
    max_running_per_tenant: int | str = 0
    max_running_global: int | str = 0
    on_terminal: str | None = None
    # Dotted path called with (job) on a DONE job's status body: returns the result to show instead of the stored
    # one (e.g. a fresh short-lived download URL). It must not query the database: the status poll is one query.
    present_result: str | None = None
    # Dotted path of `(job) -> bool`, checked after the caps above: False keeps the job QUEUED without external_id;
    # the scheduler dispatches it once the gate opens.
    dispatch_gate: str | None = None
    # Routing (apps/jobs/tiers.py). `tier` ("lite" | "basic" | "premium") makes an AI kind: its queue is its tier's,
    # or premium for a premium academy, and it takes the AI time limits below unless it sets its own. `route` is the
    # general hook, a dotted path of `(job) -> queue setting name`, which must name a queue of the same fleet as
    # `queue_setting` (the kind's default): one worker fleet runs the kind whatever queue a job took.
    tier: str | None = None
    route: str | None = None
    # Time limits of one attempt, seconds (a number or a setting's name; 0 = none). At `lease_seconds` after its
    # claim the worker asks the handler to stop (ctx.stop_requested, ctx.deadline_passed) and ends the job FAILED
    # `INFERENCE_TIMEOUT`, keeping what the handler saved; a job still RUNNING `max_run_seconds` after its claim (a
    # handler that did not stop, a worker that cannot report) is ended so by the scheduler.
    lease_seconds: int | str = 0
    max_run_seconds: int | str = 0

    def __post_init__(self):
        if self.backend not in ("queue", "batch"):
            raise ValueError(f"unknown backend {self.backend!r} for job kind {self.kind!r}")
        if self.tier is not None:
            if self.tier not in tiers.TIER_QUEUE_SETTINGS or self.backend != "queue":
                raise ValueError(f"job kind {self.kind!r}: tier must be one of {sorted(tiers.TIER_QUEUE_SETTINGS)} "
                                 "on the queue backend")
            # Frozen dataclass: the derived defaults are set once, here.
            if self.queue_setting is None:
                object.__setattr__(self, "queue_setting", tiers.TIER_QUEUE_SETTINGS[self.tier])
            if not self.lease_seconds:
                object.__setattr__(self, "lease_seconds", tiers.AI_LEASE_SETTING)
            if not self.max_run_seconds:
                object.__setattr__(self, "max_run_seconds", tiers.AI_RUN_CAP_SETTING)
        if self.backend == "queue" and not self.queue_setting:
            raise ValueError(f"job kind {self.kind!r} uses a queue but names no queue_setting")
        if len(self.kind) > 40 or self.heartbeat_timeout <= 0 or self.max_attempts < 1:
            raise ValueError(f"invalid job kind spec {self!r}")
        if self.retry_backoff_seconds < 0 or self.retry_backoff_max_seconds < self.retry_backoff_seconds:
            raise ValueError(f"invalid retry backoff in job kind spec {self!r}")
        if any(isinstance(cap, int) and cap < 0 for cap in (self.max_running_per_tenant, self.max_running_global)):
            raise ValueError(f"invalid running caps in job kind spec {self!r}")
        if any(isinstance(limit, int) and limit < 0 for limit in (self.lease_seconds, self.max_run_seconds)):
            raise ValueError(f"invalid time limits in job kind spec {self!r}")

    @staticmethod
    def _cap(value: int | str) -> int:
        return int(getattr(settings, value)) if isinstance(value, str) else value

    def running_caps(self) -> tuple[int, int]:
        """(per academy, overall); 0 = no cap."""
        return self._cap(self.max_running_per_tenant), self._cap(self.max_running_global)

    @property
    def gated(self) -> bool:
        """Whether dispatch must count slots (a cap or a gate) before sending."""
        return bool(self.max_running_per_tenant or self.max_running_global or self.dispatch_gate)

    def retry_delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to hold the job after its attempt `attempt` (1-based) failed retryably."""
        return retry_delay(attempt, base=self.retry_backoff_seconds, cap=self.retry_backoff_max_seconds, rng=rng)

    def time_limits(self) -> tuple[float, float]:
        """(lease, run cap) of one attempt in seconds; 0 = none."""
        def seconds(value: int | str) -> float:
            return float(getattr(settings, value)) if isinstance(value, str) else float(value)

        return seconds(self.lease_seconds), seconds(self.max_run_seconds)

    def queue_name(self) -> str:
        """The kind's default queue (for a tier kind, its tier's)."""
        return getattr(settings, self.queue_setting) if self.queue_setting else ""

    @property
    def routed(self) -> bool:
        return bool(self.route or self.tier)

    def queue_settings(self) -> tuple[str, ...]:
        """Every queue setting a job of this kind may be sent to: the default first."""
        if not self.queue_setting:
            return ()
        if self.tier is not None and not self.route:
            return tuple(dict.fromkeys((self.queue_setting, tiers.TIER_QUEUE_SETTINGS[tiers.PREMIUM])))
        if self.route:
            from apps.jobs.fleets import all_fleets

            for fleet in all_fleets():
                if self.queue_setting in fleet.queue_settings:
                    return (self.queue_setting, *(name for name in fleet.queue_settings if name != self.queue_setting))
        return (self.queue_setting,)

    def queue_setting_for(self, job) -> str:
        """The queue setting this job goes to: its route's answer (one of queue_settings()), else the default."""
        if not self.routed:
            return self.queue_setting
        chosen = _import(self.route)(job) if self.route else tiers.route_by_plan(job, self.tier)
        if chosen not in self.queue_settings():
            raise ValueError(f"job kind {self.kind!r} routed to {chosen!r}, not one of {self.queue_settings()}")
        return chosen

    def load_handler(self) -> Callable:
        return _import(self.handler)

    def load_on_terminal(self) -> Callable | None:
        return _import(self.on_terminal) if self.on_terminal else None

    def load_present_result(self) -> Callable | None:
        return _import(self.present_result) if self.present_result else None

    def load_dispatch_gate(self) -> Callable | None:
        return _import(self.dispatch_gate) if self.dispatch_gate else None


def retry_delay(attempt: int, *, base: float = JobKindSpec.retry_backoff_seconds,
                cap: float = JobKindSpec.retry_backoff_max_seconds, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so retries of a burst spread out."""
    full = min(cap, base * 2 ** max(0, attempt - 1))
    return full / 2 + rng() * full / 2


_registry: dict[str, JobKindSpec] = {}


def register(spec: JobKindSpec) -> JobKindSpec:
    existing = _registry.get(spec.kind)
    if existing is not None and existing != spec:
        raise ValueError(f"job kind {spec.kind!r} is already registered differently")
    _registry[spec.kind] = spec
    return spec


def get_spec(kind: str) -> JobKindSpec:
    try:
        return _registry[kind]
    except KeyError:
        raise UnknownJobKindError(kind)


def result_presenter(kind: str) -> Callable | None:
    """The kind's present_result hook, or None (also for a kind nobody registered)."""
    spec = _registry.get(kind)
    return spec.load_present_result() if spec is not None else None


def all_specs() -> list[JobKindSpec]:
    return list(_registry.values())
