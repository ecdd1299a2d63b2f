"""In-memory stand-ins for the queue and batch ports (CONTRACTS A), for fast in-process tests.

The end-to-end tests use the real table queue; these exist so unit tests can count exact sends and drive time.
"""

import json
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class FakeQueueMessage:
    message_id: str
    receipt: str
    body: dict
    receive_count: int


class FakeQueueError(Exception):
    pass


class FakeQueues:
    def __init__(self, *, max_receive_count: int = 5):
        self.max_receive_count = max_receive_count
        self.now = 0.0
        self.queues: dict[str, list[dict]] = {}
        self.send_error: Exception | None = None
        self.sent: list[tuple[str, dict]] = []
        self.visibility_changes: list[tuple[str, int]] = []

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def send(self, queue: str, body: dict, *, delay_seconds: int = 0) -> str:
        if self.send_error is not None:
            raise self.send_error
        body = json.loads(json.dumps(body))
        message_id = str(uuid.uuid4())
        self.queues.setdefault(queue, []).append(
            {"id": message_id, "body": body, "visible_at": self.now + delay_seconds, "receive_count": 0,
             "receipt": None}
        )
        self.sent.append((queue, body))
        return message_id

    def put_raw(self, queue: str, body) -> None:
        self.queues.setdefault(queue, []).append(
            {"id": str(uuid.uuid4()), "body": body, "visible_at": self.now, "receive_count": 0, "receipt": None}
        )

    def receive(self, queue, *, max_messages=1, wait_seconds=None, visibility_timeout=None):
        received = []
        for message in list(self.queues.get(queue, [])):
            if len(received) >= max_messages or message["visible_at"] > self.now:
                continue
            if message["receive_count"] >= self.max_receive_count:
                self.queues[queue].remove(message)
                self.queues.setdefault(f"{queue}-dlq", []).append(message)
                continue
            message["receive_count"] += 1
            message["receipt"] = str(uuid.uuid4())
            message["visible_at"] = self.now + (visibility_timeout or 30)
            received.append(FakeQueueMessage(message["id"], message["receipt"], message["body"],
                                             message["receive_count"]))
        return received

    def delete(self, queue, receipt) -> None:
        self.queues[queue] = [m for m in self.queues.get(queue, []) if m["receipt"] != receipt]

    def change_visibility(self, queue, receipt, timeout_seconds) -> None:
        self.visibility_changes.append((queue, timeout_seconds))
        for message in self.queues.get(queue, []):
            if message["receipt"] == receipt:
                message["visible_at"] = self.now + timeout_seconds

    def depth(self, queue) -> int:
        return len(self.queues.get(queue, []))


@dataclass(frozen=True)
class FakeBatchInfo:
    external_id: str
    status: str
    status_reason: str = ""


class FakeBatch:
    def __init__(self):
        self.submitted: list[dict] = []
        self.terminated: list[tuple[str, str]] = []
        self.submit_error: Exception | None = None
        # external id → status describe() answers; any other id is RUNNING.
        self.statuses: dict[str, str] = {}

    def describe(self, external_ids: list[str]) -> dict[str, FakeBatchInfo]:
        return {i: FakeBatchInfo(i, self.statuses.get(i, "RUNNING")) for i in external_ids}

    def submit(self, *, job_name: str, job_id: str) -> str:
        if self.submit_error is not None:
            raise self.submit_error
        self.submitted.append({"job_name": job_name, "job_id": job_id})
        return f"batch-{len(self.submitted)}"

    def terminate(self, external_id: str, *, reason: str) -> None:
        self.terminated.append((external_id, reason))
