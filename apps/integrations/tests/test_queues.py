"""Queue contract (ARCHITECTURE §3): TableQueue on real Postgres and SqsQueues on moto pass the same suite."""

import os
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.integrations.models import QueueMessageRow
from apps.integrations.queues import QueueError, SqsQueues, TableQueue, dlq_name

from .conftest import MAX_RECEIVES_IN_TESTS

Q = "academy-excel-jobs"


class TestQueueContract:
    def test_send_then_receive_round_trips_the_body(self, queues):
        message_id = queues.send(Q, {"job_id": "4f1c", "n": [1, 2], "이름": "홍길동"})

        [message] = queues.receive(Q, wait_seconds=0)

        assert message.message_id == message_id
        assert message.body == {"job_id": "4f1c", "n": [1, 2], "이름": "홍길동"}
        assert message.receive_count == 1
        assert message.receipt

    def test_a_received_message_is_invisible_until_its_timeout(self, queues):
        queues.send(Q, {"k": 1})
        queues.receive(Q, wait_seconds=0, visibility_timeout=300)

        assert queues.receive(Q, wait_seconds=0) == []
        assert queues.depth(Q) == 1

    def test_delete_removes_the_message(self, queues):
        queues.send(Q, {"k": 1})
        [message] = queues.receive(Q, wait_seconds=0, visibility_timeout=0)

        queues.delete(Q, message.receipt)

        assert queues.depth(Q) == 0
        assert queues.receive(Q, wait_seconds=0) == []

    def test_send_batch_of_23_in_chunks_and_receive_them_all(self, queues):
        bodies = [{"i": i} for i in range(23)]

        ids = queues.send_batch(Q, bodies)

        assert len(ids) == 23
        assert len(set(ids)) == 23
        assert queues.depth(Q) == 23
        received = []
        for _ in range(10):
            batch = queues.receive(Q, max_messages=10, wait_seconds=0)
            if not batch:
                break
            assert len(batch) <= 10
            received.extend(batch)
        assert sorted(m.body["i"] for m in received) == list(range(23))
        assert {m.message_id for m in received} == set(ids)

    def test_expired_visibility_redelivers_with_a_new_receipt(self, queues):
        queues.send(Q, {"k": "again"})
        [first] = queues.receive(Q, wait_seconds=0, visibility_timeout=0)

        [second] = queues.receive(Q, wait_seconds=0, visibility_timeout=300)

        assert second.message_id == first.message_id
        assert second.receive_count == 2
        assert second.receipt != first.receipt
        # A stale receipt raises nothing (whether it acts is adapter-defined); the current one deletes.
        queues.delete(Q, first.receipt)
        queues.change_visibility(Q, first.receipt, 0)
        queues.delete(Q, second.receipt)
        assert queues.depth(Q) == 0

    def test_change_visibility_to_zero_releases_the_message(self, queues):
        queues.send(Q, {"k": 1})
        [message] = queues.receive(Q, wait_seconds=0, visibility_timeout=300)

        queues.change_visibility(Q, message.receipt, 0)

        [again] = queues.receive(Q, wait_seconds=0)
        assert again.message_id == message.message_id
        assert again.receive_count == 2

    def test_message_moves_to_dlq_after_max_receives(self, queues):
        queues.send(Q, {"job_id": "poison"})
        counts = [queues.receive(Q, wait_seconds=0, visibility_timeout=0)[0].receive_count
                  for _ in range(MAX_RECEIVES_IN_TESTS)]

        after = queues.receive(Q, wait_seconds=0)

        assert counts == [1, 2, 3]
        assert after == []
        assert queues.depth(Q) == 0
        assert queues.depth(dlq_name(Q)) == 1
        [dead] = queues.receive(dlq_name(Q), wait_seconds=0)
        assert dead.body == {"job_id": "poison"}

    def test_delayed_message_is_not_received_yet(self, queues):
        queues.send(Q, {"k": "later"}, delay_seconds=60)

        assert queues.receive(Q, wait_seconds=0) == []
        assert queues.depth(Q) == 1

    def test_queues_are_independent(self, queues):
        queues.send(Q, {"to": "excel"})

        assert queues.receive("academy-messaging-jobs", wait_seconds=0) == []
        assert queues.depth("academy-messaging-jobs") == 0
        assert queues.depth(Q) == 1

    def test_long_poll_on_an_empty_queue_waits_then_returns_nothing(self, queues):
        started = time.monotonic()

        messages = queues.receive(Q, wait_seconds=1)

        assert messages == []
        assert time.monotonic() - started >= 0.9

    def test_a_hold_renewed_before_it_lapses_keeps_the_message_from_other_receivers(self, queues):
        # Given a message received with a hold that has already lapsed (a worker's window of 0 s)
        queues.send(Q, {"k": "held"})
        [message] = queues.receive(Q, wait_seconds=0, visibility_timeout=0)

        # When its holder renews the hold, as the heartbeat does every third of the window
        queues.change_visibility(Q, message.receipt, 300)

        # Then no other receiver gets it, and it is still there
        assert queues.receive(Q, wait_seconds=0) == []
        assert queues.depth(Q) == 1

    def test_a_receive_holds_the_message_for_the_window_asked_not_the_queues_own(self, queues):
        queues.send(Q, {"k": "window"})

        [message] = queues.receive(Q, wait_seconds=0, visibility_timeout=0)

        [again] = queues.receive(Q, wait_seconds=0, visibility_timeout=300)
        assert (again.message_id, again.receive_count) == (message.message_id, 2)

    def test_a_release_with_a_delay_keeps_the_message_away_until_then(self, queues):
        queues.send(Q, {"k": "later"})
        [message] = queues.receive(Q, wait_seconds=0, visibility_timeout=0)

        queues.change_visibility(Q, message.receipt, 120)

        assert queues.receive(Q, wait_seconds=0) == []
        assert queues.depth(Q) == 1

    def test_a_delayed_send_beside_a_ready_one_delivers_only_the_ready_one(self, queues):
        queues.send(Q, {"k": "later"}, delay_seconds=60)
        ready = queues.send(Q, {"k": "now"})

        batch = queues.receive(Q, max_messages=10, wait_seconds=0)

        assert [m.message_id for m in batch] == [ready]
        assert queues.depth(Q) == 2

    def test_max_messages_out_of_range_is_refused(self, queues):
        with pytest.raises(ValueError):
            queues.receive(Q, max_messages=11, wait_seconds=0)


class FakeClock:
    def __init__(self):
        self.now = timezone.now()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def table(db, settings, clock):
    settings.SQS_MAX_RECEIVE_COUNT = MAX_RECEIVES_IN_TESTS
    return TableQueue(clock=clock, poll_interval=0.01)


class TestTableQueueTime:
    def test_visibility_expiry_redelivers_with_receive_count_2(self, table, clock):
        table.send(Q, {"k": 1})
        [first] = table.receive(Q, wait_seconds=0, visibility_timeout=30)

        clock.advance(29)
        assert table.receive(Q, wait_seconds=0) == []
        clock.advance(2)
        [second] = table.receive(Q, wait_seconds=0, visibility_timeout=30)

        assert (second.message_id, second.receive_count) == (first.message_id, 2)

    def test_change_visibility_extends_the_lease(self, table, clock):
        table.send(Q, {"k": 1})
        [message] = table.receive(Q, wait_seconds=0, visibility_timeout=30)

        clock.advance(20)
        table.change_visibility(Q, message.receipt, 60)
        clock.advance(59)
        assert table.receive(Q, wait_seconds=0) == []
        clock.advance(2)
        assert [m.message_id for m in table.receive(Q, wait_seconds=0)] == [message.message_id]

    def test_stale_receipt_after_redelivery_changes_nothing(self, table, clock):
        table.send(Q, {"k": 1})
        [first] = table.receive(Q, wait_seconds=0, visibility_timeout=30)
        clock.advance(31)
        [second] = table.receive(Q, wait_seconds=0, visibility_timeout=30)

        table.delete(Q, first.receipt)
        table.change_visibility(Q, first.receipt, 0)
        table.delete(Q, "not-a-uuid")

        row = QueueMessageRow.objects.get()
        assert str(row.receipt) == second.receipt
        assert row.visible_at == clock.now + timedelta(seconds=30)
        assert table.receive(Q, wait_seconds=0) == []

    def test_default_visibility_is_the_queue_fleets_own(self, table, clock, settings):
        settings.WORKER_FLEETS = {**settings.WORKER_FLEETS,
                                  "excel": {**settings.WORKER_FLEETS["excel"], "queue_visibility_seconds": 120}}
        table.send(Q, {"k": 1})

        table.receive(Q, wait_seconds=0)

        assert QueueMessageRow.objects.get().visible_at == clock.now + timedelta(seconds=120)

    def test_dlq_row_keeps_its_body_and_is_not_redriven_again(self, table, clock):
        table.send(Q, {"k": "poison"})
        for _ in range(MAX_RECEIVES_IN_TESTS):
            table.receive(Q, wait_seconds=0, visibility_timeout=0)
        assert table.receive(Q, wait_seconds=0) == []

        got = [table.receive(dlq_name(Q), wait_seconds=0, visibility_timeout=0) for _ in range(5)]

        assert [len(batch) for batch in got] == [1, 1, 1, 1, 1]
        assert QueueMessageRow.objects.get().queue == "academy-excel-jobs-dlq"

    def test_receive_fills_the_batch_past_rows_moved_to_the_dlq(self, table, clock):
        poison = table.send(Q, {"k": "poison"})
        for _ in range(MAX_RECEIVES_IN_TESTS):
            table.receive(Q, wait_seconds=0, visibility_timeout=0)
        fresh = table.send_batch(Q, [{"k": 1}, {"k": 2}])

        batch = table.receive(Q, max_messages=2, wait_seconds=0)

        assert [m.message_id for m in batch] == fresh
        assert QueueMessageRow.objects.get(pk=poison).queue == dlq_name(Q)

    def test_receive_takes_a_partial_batch_with_one_select_and_one_update(self, table):
        table.send_batch(Q, [{"k": i} for i in range(5)])

        with CaptureQueriesContext(connection) as queries:
            batch = table.receive(Q, max_messages=10, wait_seconds=0)

        assert len(batch) == 5
        assert len({m.receipt for m in batch}) == 5
        statements = [q["sql"].split()[0] for q in queries.captured_queries
                      if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
        assert statements == ["SELECT", "UPDATE"]

    def test_interrupt_ends_a_long_poll_early(self, table):
        timer = threading.Timer(0.1, table.interrupt)
        started = time.monotonic()
        timer.start()

        messages = table.receive(Q, wait_seconds=20)

        assert messages == []
        assert time.monotonic() - started < 5


@pytest.mark.django_db(transaction=True)
def test_two_consumers_racing_on_postgres_each_get_distinct_messages(settings):
    # Given 60 messages and two consumers, each in its own thread and so its own DB connection
    assert connection.vendor == "postgresql"
    settings.SQS_MAX_RECEIVE_COUNT = 5
    producer = TableQueue()
    sent = producer.send_batch(Q, [{"i": i} for i in range(60)])
    start = threading.Barrier(2)
    got: dict[str, list[str]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def consume(name: str) -> None:
        queue = TableQueue(poll_interval=0.01)
        pause = threading.Event()
        try:
            start.wait(timeout=10)
            while batch := queue.receive(Q, max_messages=3, wait_seconds=0):
                got[name].extend(m.message_id for m in batch)
                pause.wait(0.002)  # the work a real consumer does between receives
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    # When they race until the queue is drained
    threads = [threading.Thread(target=consume, args=(name,)) for name in got]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then every message went to exactly one consumer, once
    assert errors == []
    assert len(got["a"]) + len(got["b"]) == 60
    assert sorted(got["a"] + got["b"], key=int) == sent
    assert set(QueueMessageRow.objects.values_list("receive_count", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_a_long_poll_on_postgres_wakes_at_once_when_a_message_is_sent(settings):
    # Given a receiver long-polling an empty queue that would look again only every 5 s
    waiting = TableQueue(poll_interval=5)
    received: list = []

    def receive() -> None:
        try:
            received.append((waiting.receive(Q, wait_seconds=10), time.monotonic()))
        finally:
            connection.close()

    thread = threading.Thread(target=receive)
    thread.start()
    assert waiting.listening.wait(timeout=10)

    # When another connection sends a message
    sent_at = time.monotonic()
    message_id = TableQueue().send(Q, {"k": "now"})
    thread.join(timeout=15)

    # Then the receiver has it well before its next look
    [(messages, got_at)] = received
    assert [m.message_id for m in messages] == [message_id]
    assert got_at - sent_at < 1.0


@pytest.mark.django_db(transaction=True)
def test_a_notification_read_during_a_query_still_ends_the_wait(settings):
    # Given a receiver listening, and a send announced while its connection ran another query (psycopg2 reads the
    # notification off the socket then, so select has nothing more to report)
    waiting = TableQueue(poll_interval=5)
    raw = waiting._listen()
    sender = threading.Thread(target=lambda: (TableQueue().send(Q, {"k": "now"}), connection.close()))
    sender.start()
    sender.join(timeout=10)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert [notify.payload for notify in raw.notifies] == [Q]

    # When it waits for the next send
    started = time.monotonic()
    interrupted = waiting._wait(5, raw, Q)

    # Then the pending notification ends the wait at once instead of after the 5 s look
    assert interrupted is False
    assert time.monotonic() - started < 1.0
    assert raw.notifies == []


class TestSqsSpecific:
    def test_unknown_queue_is_a_queue_error(self, sqs_queues):
        with pytest.raises(QueueError):
            sqs_queues.send("no-such-queue", {"k": 1})

    def test_unreachable_endpoint_is_a_queue_error(self, monkeypatch):
        import boto3
        from botocore.config import Config

        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        client = boto3.client("sqs", region_name="ap-northeast-2", endpoint_url="http://127.0.0.1:9",
                              config=Config(connect_timeout=1, retries={"max_attempts": 1, "mode": "standard"}))
        queues = SqsQueues(client=client)

        with pytest.raises(QueueError):
            queues.send(Q, {"k": 1})

    def test_failed_batch_entry_raises_queue_error(self, sqs_queues):
        real = sqs_queues.client.send_message_batch

        def partly_failing(**kwargs):
            answer = real(**kwargs)
            answer["Failed"] = [{"Id": "3", "SenderFault": False, "Code": "InternalError"}]
            return answer

        sqs_queues.client.send_message_batch = partly_failing

        with pytest.raises(QueueError, match="1 entries refused"):
            sqs_queues.send_batch(Q, [{"i": i} for i in range(5)])

    def test_queue_url_lookup_is_cached(self, sqs_queues):
        calls = []
        real = sqs_queues.client.get_queue_url

        def counting(**kwargs):
            calls.append(kwargs["QueueName"])
            return real(**kwargs)

        sqs_queues.client.get_queue_url = counting
        for _ in range(3):
            sqs_queues.send(Q, {"k": 1})

        assert calls == [Q]


def test_get_queues_follows_settings_and_is_cached(settings):
    from django.core.exceptions import ImproperlyConfigured

    from apps.integrations.queues import get_queues, reset_queues_for_tests

    try:
        settings.QUEUE_BACKEND = "table"
        reset_queues_for_tests()
        assert isinstance(get_queues(), TableQueue)
        assert get_queues() is get_queues()
        settings.QUEUE_BACKEND = "sqs"
        reset_queues_for_tests()
        assert isinstance(get_queues(), SqsQueues)
        settings.QUEUE_BACKEND = "redis"
        reset_queues_for_tests()
        with pytest.raises(ImproperlyConfigured):
            get_queues()
    finally:
        reset_queues_for_tests()


SQLITE_SEED = """
import django
django.setup()
from apps.integrations.queues import TableQueue
TableQueue().send_batch("race", [{"i": i} for i in range(200)])
"""

SQLITE_CONSUMER = """
import os, sys, threading
import django
django.setup()
from pathlib import Path
from apps.integrations.queues import TableQueue
print("ready", flush=True)
go = Path(sys.argv[1])
pause = threading.Event()
while not go.exists():
    pause.wait(0.01)
queue = TableQueue(poll_interval=0.01)
ids = []
while batch := queue.receive("race", max_messages=1, wait_seconds=0):
    ids.extend(m.message_id for m in batch)
    pause.wait(0.002)  # the work a real consumer does between receives, outside the transaction
print(",".join(ids), flush=True)
"""


@pytest.mark.slow
def test_two_consumer_processes_racing_on_sqlite_each_get_distinct_messages(tmp_path, settings):
    # Given a migrated SQLite file (the embedded `make run` database) holding 200 messages
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "apps.api.config.settings.dev", "DB_HOST": "", "REDIS_URL": "",
           "SQLITE_PATH": str(tmp_path / "queue.sqlite3"), "LOG_LEVEL": "WARNING"}
    run = {"cwd": settings.BASE_DIR, "env": env, "capture_output": True, "text": True, "timeout": 120}
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], **run, check=False)
    assert migrate.returncode == 0, migrate.stderr
    seed = subprocess.run([sys.executable, "-c", SQLITE_SEED], **run, check=False)
    assert seed.returncode == 0, seed.stderr

    # When two consumer processes start draining at the same moment
    go = tmp_path / "go"
    consumers = [subprocess.Popen([sys.executable, "-c", SQLITE_CONSUMER, str(go)], cwd=settings.BASE_DIR, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    assert [c.stdout.readline().strip() for c in consumers] == ["ready", "ready"]
    go.touch()
    outputs = [c.communicate(timeout=120) for c in consumers]

    # Then each of the 200 messages was delivered to exactly one of them
    assert [c.returncode for c in consumers] == [0, 0], [err for _, err in outputs]
    taken = [[i for i in out.strip().split(",") if i] for out, _ in outputs]
    assert len(taken[0]) + len(taken[1]) == 200
    assert sorted(map(int, taken[0] + taken[1])) == list(range(1, 201))
