"""Watch progress rules (issue 14, docs/video.md "Watch progress", docs/decisions/0025): what one player heartbeat
proves was played, and the union of played content intervals. Pure: no Django.

apps/domains/video/progress.py applies the same rule in one SQL statement on Postgres and through this module on
SQLite; tests run both against this module so they never diverge. Positions are seconds (floats); played content is
kept as half-open integer ranges of tenths of a second, `[start, end)`, in the text form of a Postgres
`int4multirange` (`{[0,100),[250,400)}`), so Postgres can merge them with `+`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

TENTHS = 10  # ranges are kept in tenths of a second
MAX_RATE = 2.0  # playback up to 2x speed counts
# Network jitter between two heartbeats: a jump this much past the 2x budget still counts (a seek this short is
# indistinguishable from jitter).
SLACK_SECONDS = 5.0
# Server time between two heartbeats counts as playing time only up to this (three lost heartbeats): after a long
# pause without a pause heartbeat, a seek ahead gains at most 2 x 30 + 5 seconds.
MAX_GAP_SECONDS = 30.0
# A video is completed once this share of its duration was played (`watched_tenths >= 9 * duration`).
COMPLETE_TENTHS_PER_SECOND = 9
# A player stopped this close to the end starts over: no resume position.
RESUME_END_SECONDS = 5.0

Range = tuple[int, int]
_RANGE = re.compile(r"\[(-?\d+),(-?\d+)\)")


@dataclass(frozen=True)
class Beat:
    """One heartbeat of one player (playback id), or the state a device row keeps of its last accepted one.

    `playing` says whether the player plays on after this heartbeat: the content between this heartbeat and the
    next counts only if it was True.
    """

    seq: int
    position: float
    playing: bool
    at: datetime


def clamp(position: float, duration: float | None) -> float:
    """Players report a little past the end; content past the duration is never counted."""
    return position if duration is None else min(position, duration)


def tenths(seconds: float) -> int:
    return math.floor(seconds * TENTHS)


def accepts(previous: Beat | None, beat: Beat) -> bool:
    """A device's first heartbeat, or a later one (a higher seq). Duplicates and late arrivals change nothing."""
    return previous is None or beat.seq > previous.seq


def played_span(previous: Beat | None, beat: Beat) -> Range | None:
    """The content `[start, end)` in tenths that `beat` proves was played since `previous`, or None.

    Counts when the player was playing since the previous heartbeat and the position moved forward by at most
    2 x the server time between them (capped at MAX_GAP_SECONDS) + SLACK_SECONDS. A larger jump is a seek: it
    counts nothing but becomes the new position. Lost heartbeats in between (a seq gap) are fine: the server time
    grows with them.
    """
    if previous is None or not accepts(previous, beat) or not previous.playing:
        return None
    advanced = beat.position - previous.position
    if advanced <= 0:
        return None
    elapsed = max((beat.at - previous.at).total_seconds(), 0.0)
    if advanced > MAX_RATE * min(elapsed, MAX_GAP_SECONDS) + SLACK_SECONDS:
        return None
    start, end = tenths(previous.position), tenths(beat.position)
    return (start, end) if end > start else None


def union(*groups) -> list[Range]:
    """The normalised union (sorted, disjoint, touching ranges joined), as Postgres' multirange `+` gives it."""
    merged: list[list[int]] = []
    for start, end in sorted(r for group in groups for r in group if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def total(ranges) -> int:
    return sum(end - start for start, end in ranges)


def is_complete(watched_tenths: int, duration: float | None) -> bool:
    return duration is not None and duration > 0 and watched_tenths >= COMPLETE_TENTHS_PER_SECOND * duration


def percent(watched_tenths: int, duration: float | None) -> float | None:
    """Watched share of the duration, 0-100 with one decimal; None without a duration."""
    if not duration or duration <= 0:
        return None
    return min(100.0, round(watched_tenths * 100 / (duration * TENTHS), 1))


def to_text(ranges) -> str:
    return "{" + ",".join(f"[{start},{end})" for start, end in ranges) + "}"


def from_text(text: str) -> list[Range]:
    return [(int(start), int(end)) for start, end in _RANGE.findall(text or "")]
