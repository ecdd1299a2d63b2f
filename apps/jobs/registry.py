"""ARCHITECTURE §2, dispatch: which backend, queue and handler each job kind uses.

Domain apps register their kinds in their AppConfig.ready(), so the API and every worker see the same table.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.utils.module_loading import import_string

from apps.jobs.errors import UnknownJobKindError

# Hooks are resolved on hot paths (every status poll asks for the presenter): import each dotted path once.
_import = functools.cache(import_string)


@dataclass(frozen=True)
class JobKindSpec:
    kind: str
    backend: Literal["queue", "batch"]
    queue_setting: str | None
    handler: str
    heartbeat_timeout: int
    max_attempts: int = 3
    on_terminal: str | None = None
    # Dotted path called with (job) on a DONE job's status body: returns the result to show instead of the stored
    # one (e.g. a fresh short-lived download URL). It must not query the database: the status poll is one query.
    present_result: str | None = None
    # Dotted path of `(job) -> bool`: False keeps the job QUEUED without external_id (a concurrency limit);
    # the scanner dispatches it once the gate opens.
    dispatch_gate: str | None = None

    def __post_init__(self):
        if self.backend not in ("queue", "batch"):
            raise ValueError(f"unknown backend {self.backend!r} for job kind {self.kind!r}")
        if self.backend == "queue" and not self.queue_setting:
            raise ValueError(f"job kind {self.kind!r} uses a queue but names no queue_setting")
        if len(self.kind) > 40 or self.heartbeat_timeout <= 0 or self.max_attempts < 1:
            raise ValueError(f"invalid job kind spec {self!r}")

    def queue_name(self) -> str:
        return getattr(settings, self.queue_setting) if self.queue_setting else ""

    def load_handler(self) -> Callable:
        return _import(self.handler)

    def load_on_terminal(self) -> Callable | None:
        return _import(self.on_terminal) if self.on_terminal else None

    def load_present_result(self) -> Callable | None:
        return _import(self.present_result) if self.present_result else None

    def load_dispatch_gate(self) -> Callable | None:
        return _import(self.dispatch_gate) if self.dispatch_gate else None


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
