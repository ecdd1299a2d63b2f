"""ARCHITECTURE §2 status, pushed to browsers: the events ticket, the Server-Sent Events of one job, the stream bound.

An EventSource cannot send the JWT, so the stream also accepts a ticket: signed (django.core.signing, its own salt)
rather than stored, so every API process checks it without Redis or a table, and nothing is left to clean up. It
names one job and one user and stays valid for reconnects until it expires; it grants nothing else, and the user is
checked afresh whenever a stream opens.

Each open stream holds a gunicorn thread for up to JOBS_SSE_MAX_SECONDS, so a process keeps at most
JOBS_SSE_MAX_STREAMS_PER_PROCESS of them open; beyond that a stream is refused with 503 and the caller polls.
"""

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from django.conf import settings
from django.core import signing

from apps.jobs.errors import EventsBusyError, EventsTicketExpiredError, EventsTicketInvalidError
from apps.jobs.models import Job
from apps.jobs.serializers import JobOutputSerializer

TICKET_SALT = "apps.jobs.events.ticket"
# After a terminal state a browser should not come back: EventSource reconnects after `retry` milliseconds.
END_RETRY_MS = 24 * 3600 * 1000
TIMEOUT_RETRY_MS = 3000
BUSY_RETRY_AFTER_SECONDS = 10
# A comment line each poll without news: the only way a sync server notices a client that went away.
HEARTBEAT = b":\n\n"


@dataclass(frozen=True)
class EventsTicket:
    ticket: str
    expires_at: datetime


def job_events_ticket_issue(*, job_id: UUID, user_id: int, token_version: int = 0) -> EventsTicket:
    """A ticket for the user's current token version (apps/core/authentication.py): a reset ends it too."""
    expires_at = int(time.time()) + int(settings.JOBS_EVENTS_TICKET_SECONDS)
    ticket = signing.dumps({"j": str(job_id), "u": user_id, "e": expires_at, "v": token_version}, salt=TICKET_SALT)
    return EventsTicket(ticket=ticket, expires_at=datetime.fromtimestamp(expires_at, tz=UTC))


def job_events_ticket_read(*, ticket: str, job_id: UUID) -> int:
    """The user id a ticket for `job_id` was issued to; EventsTicketInvalidError or EventsTicketExpiredError."""
    return job_events_ticket_holder(ticket=ticket, job_id=job_id)[0]


def job_events_ticket_holder(*, ticket: str, job_id: UUID) -> tuple[int, int]:
    """(user id, token version) a ticket for `job_id` was issued to; the errors of `job_events_ticket_read`."""
    try:
        payload = signing.loads(ticket, salt=TICKET_SALT)
    except signing.BadSignature:
        raise EventsTicketInvalidError() from None
    if not isinstance(payload, dict) or payload.get("j") != str(job_id) or not isinstance(payload.get("u"), int) \
            or not isinstance(payload.get("e"), int):
        raise EventsTicketInvalidError()
    if payload["e"] <= time.time():
        raise EventsTicketExpiredError()
    version = payload.get("v", 0)
    return payload["u"], version if type(version) is int else -1


def job_event_id(job: Job) -> str:
    """The `id:` of every event about this version of the job, so Last-Event-ID says what the browser last saw."""
    return f"{job.state}.{int(job.updated_at.timestamp() * 1_000_000)}"


def job_events_already_ended(*, job: Job, last_event_id: str | None) -> bool:
    """The browser reconnects after having seen the job's terminal state: nothing is left to send (answer 204)."""
    return job.is_terminal and last_event_id == job_event_id(job)


class StreamSlots:
    """Open streams of this process; the limit is read at each open so a changed setting applies at once."""

    def __init__(self):
        self._lock = threading.Lock()
        self.in_use = 0

    def acquire(self, limit: int) -> bool:
        with self._lock:
            if self.in_use >= limit:
                return False
            self.in_use += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.in_use -= 1


stream_slots = StreamSlots()


class _SlotHeldStream:
    """Iterates the events and gives the slot back when the server closes the response: after the last event, when
    the client went away mid-stream (the generator gets GeneratorExit), or when it was never started at all."""

    def __init__(self, events: Iterator[bytes], slots: StreamSlots):
        self._events = events
        self._slots = slots
        self._held = True

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        return next(self._events)

    def close(self) -> None:
        try:
            self._events.close()
        finally:
            if self._held:
                self._held = False
                self._slots.release()


def job_events_open(*, job: Job, last_event_id: str | None = None) -> Iterator[bytes]:
    """The events of `job` as SSE bytes, holding one of this process's stream slots until closed; EventsBusyError
    when none is free."""
    slots = stream_slots
    if not slots.acquire(settings.JOBS_SSE_MAX_STREAMS_PER_PROCESS):
        raise EventsBusyError(retry_after=BUSY_RETRY_AFTER_SECONDS)
    return _SlotHeldStream(_job_events(job, last_event_id), slots)


def _job_events(job: Job, last_event_id: str | None) -> Iterator[bytes]:
    """One `status` event per change (none for the version Last-Event-ID names); after a terminal state an `end`
    event with a long retry; after JOBS_SSE_MAX_SECONDS a `timeout` event with a short one."""
    poll = float(settings.JOBS_SSE_POLL_SECONDS)
    deadline = time.monotonic() + float(settings.JOBS_SSE_MAX_SECONDS)
    pause = threading.Event()
    last_sent = last_event_id
    while True:
        event_id = job_event_id(job)
        if event_id != last_sent:
            last_sent = event_id
            yield _sse("status", JobOutputSerializer(job).data, event_id=event_id)
        else:
            yield HEARTBEAT
        if job.is_terminal:
            yield _sse("end", {"id": str(job.id), "status": job.state}, event_id=event_id, retry=END_RETRY_MS)
            return
        if time.monotonic() >= deadline:
            yield _sse("timeout", {"id": str(job.id)}, event_id=event_id, retry=TIMEOUT_RETRY_MS)
            return
        pause.wait(poll)
        job = Job.objects.filter(id=job.id, tenant_id=job.tenant_id).first()
        if job is None:
            return


def _sse(event: str, data: dict, *, event_id: str, retry: int | None = None) -> bytes:
    retry_line = f"retry: {retry}\n" if retry is not None else ""
    return f"{retry_line}id: {event_id}\nevent: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
