"""ARCHITECTURE §5, the fleet table: per queue fleet, its queues, the ones its workers poll, their visibility, the
hold window, poll weights and idle policy. The worker runtime, the table queue and scripts/create_sqs_resources.py
all read it from here (settings.WORKER_FLEETS, overridable per fleet from the environment)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.conf import settings

from apps.integrations.queues import DLQ_SUFFIX

# A worker reports its heartbeat at least this often, whatever the window.
MAX_HEARTBEAT_INTERVAL_SECONDS = 10.0
# Visibility of a queue no fleet names (a DLQ, a queue made by hand): SQS's own default would be 30 s.
DEFAULT_QUEUE_VISIBILITY_SECONDS = 300


@dataclass(frozen=True)
class Fleet:
    name: str
    # Every queue of the fleet (created with its visibility, its messages held by its window), highest priority first.
    queue_settings: tuple[str, ...]
    # The queue's own visibility timeout, as created: only a receive without a window (a person, a script) uses it.
    queue_visibility_seconds: int
    # A worker receives with this visibility and extends it by as much every third of it while the job runs, so a
    # dead worker's message is back within one window.
    visibility_window_seconds: int
    # Empty: strict priority order. Else one weight per polled queue: each poll asks them in a weighted random order.
    poll_weights: tuple[int, ...]
    # Empty polls in a row after which the worker exits (0 = never).
    idle_stop_threshold: int
    # The queues this fleet's workers poll, when not all of them (the AI fleet: basic and lite, or with
    # AI_WORKER_PREMIUM_ONLY the premium queue only).
    poll_queue_settings: tuple[str, ...] = ()

    def __post_init__(self):
        if self.visibility_window_seconds < 3 or self.queue_visibility_seconds < 1:
            raise ValueError(f"fleet {self.name!r}: the window must be at least 3 s and the visibility at least 1 s")
        if not set(self.polled_settings) <= set(self.queue_settings):
            raise ValueError(f"fleet {self.name!r}: it can only poll its own queues")
        if self.poll_weights and (len(self.poll_weights) != len(self.polled_settings)
                                  or any(weight < 0 for weight in self.poll_weights) or not any(self.poll_weights)):
            raise ValueError(f"fleet {self.name!r}: poll weights must be one non-negative number per queue")

    def queue_names(self) -> list[str]:
        return [getattr(settings, name) for name in self.queue_settings]

    @property
    def polled_settings(self) -> tuple[str, ...]:
        return self.poll_queue_settings or self.queue_settings

    def poll_queue_names(self) -> list[str]:
        """The queues a worker of this fleet polls, in priority order."""
        return [getattr(settings, name) for name in self.polled_settings]

    @property
    def heartbeat_interval(self) -> float:
        return min(MAX_HEARTBEAT_INTERVAL_SECONDS, self.visibility_window_seconds / 3)

    def poll_order(self, rng: random.Random | None = None) -> list[str]:
        """The queues in the order one poll asks them: priority order, or a weighted draw without replacement."""
        names = self.poll_queue_names()
        return weighted_order(names, self.poll_weights, rng) if self.poll_weights else names


def weighted_order(names: list[str], weights: tuple[int, ...], rng: random.Random | None = None) -> list[str]:
    """`names` drawn one by one with probability proportional to their weights (weight 0 always comes last)."""
    rng = rng or random
    pool = [(name, weight) for name, weight in zip(names, weights, strict=True) if weight > 0]
    last = [name for name, weight in zip(names, weights, strict=True) if weight <= 0]
    order = []
    while pool:
        pick = rng.uniform(0, sum(weight for _, weight in pool))
        index = 0
        while index < len(pool) - 1 and pick > pool[index][1]:
            pick -= pool[index][1]
            index += 1
        order.append(pool.pop(index)[0])
    return order + last


def get_fleet(name: str) -> Fleet:
    try:
        row = settings.WORKER_FLEETS[name]
    except KeyError:
        raise ValueError(f"unknown fleet {name!r}; expected one of {sorted(settings.WORKER_FLEETS)}")
    return Fleet(
        name=name,
        queue_settings=tuple(row["queues"]),
        queue_visibility_seconds=int(row["queue_visibility_seconds"]),
        visibility_window_seconds=int(row["visibility_window_seconds"]),
        poll_weights=tuple(int(weight) for weight in row.get("poll_weights") or ()),
        idle_stop_threshold=int(row.get("idle_stop_threshold") or 0),
        poll_queue_settings=tuple(row.get("poll_queues") or ()),
    )


def fleet_names() -> list[str]:
    return sorted(settings.WORKER_FLEETS)


def all_fleets() -> list[Fleet]:
    return [get_fleet(name) for name in fleet_names()]


def fleet_for_queue(queue: str) -> Fleet | None:
    """The fleet that consumes `queue` (or whose DLQ it is)."""
    base = queue.removesuffix(DLQ_SUFFIX)
    for fleet in all_fleets():
        if base in fleet.queue_names():
            return fleet
    return None


def queue_visibility_seconds(queue: str) -> int:
    fleet = fleet_for_queue(queue) if not queue.endswith(DLQ_SUFFIX) else None
    return fleet.queue_visibility_seconds if fleet else DEFAULT_QUEUE_VISIBILITY_SECONDS


def takeover_bound_seconds(*, fleet: Fleet, staleness_seconds: float, poll_seconds: float = 1.0) -> float:
    """Longest time from a worker's death to another worker claiming its job (docs/jobs.md).

    The dead worker's last beat renewed both its hold and its heartbeat; its message is back one window later and
    its heartbeat is stale one staleness limit later. A receiver that comes before staleness sends the message
    away until then (+ up to 2 s of rounding), so the later of the two, plus one poll, bounds the takeover.
    """
    return max(fleet.visibility_window_seconds, staleness_seconds + 2) + poll_seconds
