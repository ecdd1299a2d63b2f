"""ARCHITECTURE §3 queue port: SQS in production, a table in the same database for dev and `make run`.

Both adapters share SQS semantics: at-least-once delivery, a visibility timeout after each receive, a new receipt
per receive, and a move to "<queue>-dlq" once a message would be received more than SQS_MAX_RECEIVE_COUNT times.

Stale receipts: after a message's visibility lapsed and it was received again, the earlier receipt is stale.
`delete` and `change_visibility` with a stale receipt raise nothing; on the table queue they change nothing, on SQS
AWS may still act on them. A consumer must therefore never rely on a stale receipt either way: the job row, not
the message, decides whether work already happened.
"""

from __future__ import annotations

import json
import logging
import select
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.integrations.aws import AdapterSlot, AwsAdapter, aws_client, in_batches

logger = logging.getLogger(__name__)

DLQ_SUFFIX = "-dlq"
SQS_BATCH_SIZE = 10
SQS_MAX_WAIT_SECONDS = 20
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
# Table queue: the Postgres channel a send (or a release) notifies, so a waiting receiver wakes at once; it still looks
# every LISTEN_POLL_SECONDS for what no send announces (a lapsed hold, a delay that ended). SQLite has no
# notifications: a receiver looks every SQLITE_POLL_SECONDS.
NOTIFY_CHANNEL = "academy_table_queue"
LISTEN_POLL_SECONDS = 1.0
SQLITE_POLL_SECONDS = 0.1
QUEUE_NAME_SETTINGS = (
    "SQS_QUEUE_EXCEL",
    "SQS_QUEUE_MESSAGING",
    "SQS_QUEUE_AI_LITE",
    "SQS_QUEUE_AI_BASIC",
    "SQS_QUEUE_AI_PREMIUM",
)


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    receipt: str
    body: dict
    receive_count: int


class QueueError(Exception):
    """The queue is unreachable or refused the request."""


def dlq_name(queue: str) -> str:
    return queue + DLQ_SUFFIX


def configured_queue_names() -> list[str]:
    """Every work queue named in settings (their DLQs are derived with dlq_name)."""
    return [getattr(settings, name) for name in QUEUE_NAME_SETTINGS]


class Queues:
    """The interface every adapter implements (CONTRACTS A)."""

    def send(self, queue: str, body: dict, *, delay_seconds: int = 0) -> str:
        raise NotImplementedError

    def send_batch(self, queue: str, bodies: list[dict]) -> list[str]:
        raise NotImplementedError

    def receive(self, queue: str, *, max_messages: int = 1, wait_seconds: int | None = None,
                visibility_timeout: int | None = None) -> list[QueueMessage]:
        """Up to `max_messages` (1-10, the SQS limit), polling up to `wait_seconds` (default SQS_WAIT_SECONDS);
        `visibility_timeout` None keeps the queue's own (its fleet's queue visibility, apps/jobs/fleets.py)."""
        if not 1 <= max_messages <= SQS_BATCH_SIZE:
            raise ValueError("max_messages must be between 1 and 10")
        wait = settings.SQS_WAIT_SECONDS if wait_seconds is None else wait_seconds
        return self._receive(queue, max_messages, wait, visibility_timeout)

    def _receive(self, queue: str, max_messages: int, wait_seconds: int,
                 visibility_timeout: int | None) -> list[QueueMessage]:
        raise NotImplementedError

    def delete(self, queue: str, receipt: str) -> None:
        raise NotImplementedError

    def change_visibility(self, queue: str, receipt: str, timeout_seconds: int) -> None:
        raise NotImplementedError

    def depth(self, queue: str) -> int:
        raise NotImplementedError


# ---------------------------------------------------------------------------
# Table queue
# ---------------------------------------------------------------------------
class TableQueue(Queues):
    """Messages as rows of QueueMessageRow; safe with concurrent consumers.

    On Postgres a receive locks the rows it takes with SELECT ... FOR UPDATE SKIP LOCKED, so two consumers never
    take the same row, and a long poll LISTENs on NOTIFY_CHANNEL so a send wakes it at once (outside a transaction
    only: inside one, notifications wait for its end, so it polls). On SQLite the IMMEDIATE transaction mode
    (settings) makes every write transaction exclusive, which serialises receives without row locks.
    """

    def __init__(self, *, clock: Callable[[], datetime] = timezone.now, poll_interval: float | None = None):
        self._clock = clock
        self._poll_interval = poll_interval
        # Waited on between polls; set by `interrupt()` so a stopping worker need not sit out a long poll.
        self._wakeup = threading.Event()
        # The raw connection this queue LISTENs on; set once it does (tests wait on `listening`).
        self._listening_on: int | None = None
        self.listening = threading.Event()

    def interrupt(self) -> None:
        self._wakeup.set()

    def _notify(self, queue: str) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, queue])

    def _listen(self) -> object | None:
        """The raw Postgres connection, listening, when this long poll can be woken by NOTIFY; else None."""
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return None
        connection.ensure_connection()
        raw = connection.connection
        if self._listening_on != id(raw):
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._listening_on = id(raw)
            self.listening.set()
        return raw

    def _wait(self, seconds: float, raw: object | None, queue: str) -> bool:
        """Waits up to `seconds` for a send to `queue`; True when interrupted."""
        if raw is None:
            if self._wakeup.wait(seconds):
                self._wakeup.clear()
                return True
            return False
        deadline = time.monotonic() + seconds
        while True:
            # A notification that arrived while the last receive's query ran is already read off the socket into
            # `notifies`: select would not report it again, so it is looked at before waiting.
            payloads = {notify.payload for notify in raw.notifies}
            raw.notifies.clear()
            if queue in payloads:
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # Short slices: `interrupt()` cannot wake a select.
            readable, _, _ = select.select([raw], [], [], min(remaining, 0.25))
            if self._wakeup.is_set():
                self._wakeup.clear()
                return True
            if readable:
                raw.poll()

    def _insert(self, queue: str, bodies: list[dict], delay_seconds: int) -> list[str]:
        from apps.integrations.models import QueueMessageRow

        for body in bodies:
            json.dumps(body)  # refuse what SQS would refuse: a body that is not JSON
        visible_at = self._clock() + timedelta(seconds=delay_seconds)
        try:
            rows = QueueMessageRow.objects.bulk_create(
                [QueueMessageRow(queue=queue, body=body, visible_at=visible_at) for body in bodies]
            )
            if delay_seconds <= 0:
                self._notify(queue)
        except DatabaseError as exc:
            raise QueueError(f"table queue send to {queue}: {exc}") from exc
        return [str(row.pk) for row in rows]

    def send(self, queue, body, *, delay_seconds=0) -> str:
        return self._insert(queue, [body], delay_seconds)[0]

    def send_batch(self, queue, bodies) -> list[str]:
        ids: list[str] = []
        for chunk in in_batches(bodies, SQS_BATCH_SIZE):
            ids.extend(self._insert(queue, chunk, 0))
        return ids

    def _receive(self, queue, max_messages, wait_seconds, visibility_timeout) -> list[QueueMessage]:
        from apps.jobs.fleets import queue_visibility_seconds

        visibility = queue_visibility_seconds(queue) if visibility_timeout is None else visibility_timeout
        deadline = time.monotonic() + wait_seconds
        try:
            raw = self._listen() if wait_seconds > 0 else None
        except DatabaseError as exc:
            raise QueueError(f"table queue listen on {queue}: {exc}") from exc
        interval = self._poll_interval or (LISTEN_POLL_SECONDS if raw is not None else SQLITE_POLL_SECONDS)
        while True:
            messages = self._receive_once(queue, max_messages, visibility)
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0:
                return messages
            if self._wait(min(interval, remaining), raw, queue):
                return []

    def _receive_once(self, queue: str, max_messages: int, visibility: int) -> list[QueueMessage]:
        try:
            with transaction.atomic():
                return self._take(queue, max_messages, visibility)
        except DatabaseError as exc:
            raise QueueError(f"table queue receive from {queue}: {exc}") from exc

    def _take(self, queue: str, max_messages: int, visibility: int) -> list[QueueMessage]:
        from apps.integrations.models import QueueMessageRow

        now = self._clock()
        max_receives = settings.SQS_MAX_RECEIVE_COUNT
        redrive = not queue.endswith(DLQ_SUFFIX)
        taken: list[QueueMessageRow] = []
        while len(taken) < max_messages:
            wanted = max_messages - len(taken)
            candidates = QueueMessageRow.objects.filter(queue=queue, visible_at__lte=now).order_by("id")
            if connection.features.has_select_for_update_skip_locked:
                candidates = candidates.select_for_update(skip_locked=True)
            rows = list(candidates[:wanted])
            # Same rule as an SQS redrive policy: a row received too often leaves for the DLQ instead of being
            # delivered, and the batch is filled from the rows behind it.
            dead: list[QueueMessageRow] = []
            delivered: list[QueueMessageRow] = []
            for row in rows:
                (dead if redrive and row.receive_count + 1 > max_receives else delivered).append(row)
            if dead:
                QueueMessageRow.objects.filter(pk__in=[row.pk for row in dead]).update(queue=dlq_name(queue),
                                                                                      visible_at=now)
                for row in dead:
                    logger.warning("queue message moved to DLQ",
                                   extra={"queue": queue, "message_id": row.pk, "receive_count": row.receive_count})
            for row in delivered:
                row.receive_count += 1
                row.visible_at = now + timedelta(seconds=visibility)
                row.receipt = uuid.uuid4()
            QueueMessageRow.objects.bulk_update(delivered, ["receive_count", "visible_at", "receipt"])
            taken.extend(delivered)
            if len(rows) < wanted:
                break  # the queue holds no more visible rows: another SELECT would find none
        return [
            QueueMessage(message_id=str(row.pk), receipt=str(row.receipt), body=row.body,
                         receive_count=row.receive_count)
            for row in taken
        ]

    @staticmethod
    def _receipt(receipt: str) -> uuid.UUID | None:
        try:
            return uuid.UUID(str(receipt))
        except ValueError:
            return None

    def delete(self, queue, receipt) -> None:
        from apps.integrations.models import QueueMessageRow

        parsed = self._receipt(receipt)
        if parsed is None:
            return
        try:
            QueueMessageRow.objects.filter(queue=queue, receipt=parsed).delete()
        except DatabaseError as exc:
            raise QueueError(f"table queue delete on {queue}: {exc}") from exc

    def change_visibility(self, queue, receipt, timeout_seconds) -> None:
        from apps.integrations.models import QueueMessageRow

        parsed = self._receipt(receipt)
        if parsed is None:
            return
        visible_at = self._clock() + timedelta(seconds=timeout_seconds)
        try:
            released = QueueMessageRow.objects.filter(queue=queue, receipt=parsed).update(visible_at=visible_at)
            if released and timeout_seconds <= 0:
                self._notify(queue)
        except DatabaseError as exc:
            raise QueueError(f"table queue change_visibility on {queue}: {exc}") from exc

    def depth(self, queue) -> int:
        from apps.integrations.models import QueueMessageRow

        try:
            return QueueMessageRow.objects.filter(queue=queue).count()
        except DatabaseError as exc:
            raise QueueError(f"table queue depth of {queue}: {exc}") from exc


# ---------------------------------------------------------------------------
# SQS
# ---------------------------------------------------------------------------
_STALE_RECEIPT_CODES = {
    "ReceiptHandleIsInvalid",
    "InvalidParameterValue",
    "AWS.SimpleQueueService.MessageNotInflight",
    "MessageNotInflight",
}
_MISSING_QUEUE_CODES = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


def _make_sqs_client(region: str | None = None):
    # Longer than the longest long poll, so a 20 s receive is never cut short by the client.
    return aws_client("sqs", region=region, read_timeout=SQS_MAX_WAIT_SECONDS + 10)


class SqsQueues(AwsAdapter, Queues):
    error_class = QueueError
    service_label = "sqs"

    def __init__(self, client=None):
        super().__init__(client)
        self._urls: dict[str, str] = {}

    def make_client(self):
        return _make_sqs_client()

    def url(self, queue: str) -> str:
        cached = self._urls.get(queue)
        if cached is None:
            cached = self._call("get_queue_url", self.client.get_queue_url, QueueName=queue)["QueueUrl"]
            self._urls[queue] = cached
        return cached

    def send(self, queue, body, *, delay_seconds=0) -> str:
        kwargs = {"QueueUrl": self.url(queue), "MessageBody": json.dumps(body)}
        if delay_seconds:
            kwargs["DelaySeconds"] = int(delay_seconds)
        return self._call("send_message", self.client.send_message, **kwargs)["MessageId"]

    def send_batch(self, queue, bodies) -> list[str]:
        ids: list[str] = []
        for chunk in in_batches(bodies, SQS_BATCH_SIZE):
            entries = [{"Id": str(i), "MessageBody": json.dumps(body)} for i, body in enumerate(chunk)]
            answer = self._call("send_message_batch", self.client.send_message_batch, QueueUrl=self.url(queue),
                                Entries=entries)
            failed = answer.get("Failed") or []
            if failed:
                # Entries of earlier chunks were sent: the caller sees how many in the message.
                raise QueueError(f"sqs send_message_batch to {queue}: {len(failed)} entries refused after "
                                 f"{len(ids)} sent, first: {failed[0]}")
            by_id = {entry["Id"]: entry["MessageId"] for entry in answer.get("Successful", [])}
            ids.extend(by_id[entry["Id"]] for entry in entries)
        return ids

    def _receive(self, queue, max_messages, wait_seconds, visibility_timeout) -> list[QueueMessage]:
        kwargs = {
            "QueueUrl": self.url(queue),
            "MaxNumberOfMessages": max_messages,
            "WaitTimeSeconds": min(int(wait_seconds), SQS_MAX_WAIT_SECONDS),
            "AttributeNames": ["ApproximateReceiveCount"],
        }
        if visibility_timeout is not None:
            kwargs["VisibilityTimeout"] = int(visibility_timeout)
        answer = self._call("receive_message", self.client.receive_message, **kwargs)
        return [
            QueueMessage(
                message_id=message["MessageId"],
                receipt=message["ReceiptHandle"],
                body=json.loads(message["Body"]),
                receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
            )
            for message in answer.get("Messages", [])
        ]

    def _receipt_call(self, what: str, fn, **kwargs) -> None:
        if self._call(what, fn, ignore_codes=_STALE_RECEIPT_CODES, **kwargs) is None:
            logger.warning("sqs %s ignored a stale receipt", what)

    def delete(self, queue, receipt) -> None:
        self._receipt_call("delete_message", self.client.delete_message, QueueUrl=self.url(queue),
                           ReceiptHandle=receipt)

    def change_visibility(self, queue, receipt, timeout_seconds) -> None:
        self._receipt_call("change_message_visibility", self.client.change_message_visibility,
                           QueueUrl=self.url(queue), ReceiptHandle=receipt, VisibilityTimeout=int(timeout_seconds))

    def depth(self, queue) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                 "ApproximateNumberOfMessagesDelayed"]
        answer = self._call("get_queue_attributes", self.client.get_queue_attributes, QueueUrl=self.url(queue),
                            AttributeNames=names)
        return sum(int(answer["Attributes"].get(name, 0)) for name in names)


def sqs_ensure_queues(region: str | None = None) -> list[tuple[str, str]]:
    """Creates or updates every configured queue and its DLQ; safe to run again. Returns [(name, url)].

    Each queue gets long polling, its fleet's queue visibility (the fleet table) and a redrive policy to
    "<name>-dlq"; each DLQ keeps messages 14 days (the SQS maximum) so failures can be inspected.
    """
    from apps.jobs.fleets import queue_visibility_seconds

    sqs = SqsQueues(client=_make_sqs_client(region))
    created: list[tuple[str, str]] = []
    for name in configured_queue_names():
        dlq_url = _ensure_queue(sqs, dlq_name(name), {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)})
        dlq_arn = sqs._call("get_queue_attributes", sqs.client.get_queue_attributes, QueueUrl=dlq_url,
                            AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = _ensure_queue(sqs, name, {
            "ReceiveMessageWaitTimeSeconds": str(SQS_MAX_WAIT_SECONDS),
            "VisibilityTimeout": str(queue_visibility_seconds(name)),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(settings.SQS_MAX_RECEIVE_COUNT)}
            ),
        })
        created += [(dlq_name(name), dlq_url), (name, url)]
    return created


def _ensure_queue(sqs: SqsQueues, name: str, attributes: dict[str, str]) -> str:
    found = sqs._call("get_queue_url", sqs.client.get_queue_url, ignore_codes=_MISSING_QUEUE_CODES, QueueName=name)
    if found is None:
        return sqs._call("create_queue", sqs.client.create_queue, QueueName=name, Attributes=attributes)["QueueUrl"]
    url = found["QueueUrl"]
    sqs._call("set_queue_attributes", sqs.client.set_queue_attributes, QueueUrl=url, Attributes=attributes)
    return url


# ---------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------
_queues_slot: AdapterSlot[Queues] = AdapterSlot(lambda: _build_queues())


def get_queues() -> Queues:
    """The adapter chosen by settings.QUEUE_BACKEND, built once per process."""
    return _queues_slot.get()


def _build_queues() -> Queues:
    backend = settings.QUEUE_BACKEND
    if backend == "table":
        return TableQueue()
    if backend == "sqs":
        return SqsQueues()
    raise ImproperlyConfigured(f"QUEUE_BACKEND must be 'table' or 'sqs', not {backend!r}")


def reset_queues_for_tests() -> None:
    _queues_slot.reset()
