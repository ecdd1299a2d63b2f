"""The stream bound as production runs it: the real API under gunicorn gthread, many browsers holding streams open."""

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from apps.jobs.models import JobState
from apps.worker.tests.support import running_api_server, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

THREADS = 4
STREAMS = 50
# The default bound keeps two of a worker's threads for everything else.
EXPECTED_OPEN = THREADS - 2
ANSWER_BOUND_SECONDS = 1.0


@pytest.fixture
def api_server(transactional_db, tmp_path):
    """One gunicorn gthread worker on the test database, the stream bound left to its default; stopped afterwards."""
    with running_api_server(log_path=tmp_path / "gunicorn.log", threads=THREADS,
                            JOBS_SSE_MAX_STREAMS_PER_PROCESS=None, JOBS_SSE_POLL_SECONDS="0.2",
                            JOBS_SSE_MAX_SECONDS="120") as base_url:
        yield base_url


@dataclass
class OpenedStream:
    status: int
    headers: dict[str, str]
    body: bytes
    connection: socket.socket


def _open_stream(url: str) -> OpenedStream:
    """A browser's GET on a raw socket, left open: headers read and, for a 200, the first event too, so the server
    is really holding the stream. Nothing else is read, as a browser whose page went away would."""
    target = urlsplit(url)
    connection = socket.create_connection((target.hostname, target.port), timeout=10)
    connection.sendall(f"GET {target.path}?{target.query} HTTP/1.1\r\nHost: {target.netloc}\r\n"
                       "Accept: text/event-stream\r\n\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        received += _recv(connection)
    head, body = received.split(b"\r\n\r\n", 1)
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in header_lines)}
    expected = b"\n\n" if headers.get("transfer-encoding") == "chunked" else None
    while (len(body) < int(headers["content-length"])) if expected is None else (expected not in body):
        body += _recv(connection)
    return OpenedStream(int(status_line.split()[1]), headers, body, connection)


def _recv(connection: socket.socket) -> bytes:
    chunk = connection.recv(65536)
    assert chunk, "the server closed the connection"
    return chunk


def _timed_get(url: str, **kwargs) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.get(url, timeout=5, **kwargs)
    return response, time.monotonic() - started


def test_fifty_open_streams_do_not_delay_health_or_a_status_poll(api_server, admin_user, make_job):
    job = make_job(state=JobState.RUNNING, progress=30)
    bearer = {"Authorization": f"Bearer {AccessToken.for_user(admin_user)}"}
    ticket = requests.post(f"{api_server}/api/v1/jobs/{job.id}/events/ticket/", headers=bearer, timeout=5).json()
    streams = []
    try:
        with ThreadPoolExecutor(max_workers=STREAMS) as pool:
            streams = list(pool.map(_open_stream, [ticket["url"]] * STREAMS))
        held = [stream for stream in streams if stream.status == 200]
        refused = [stream for stream in streams if stream.status != 200]

        health = [_timed_get(f"{api_server}/health") for _ in range(5)]
        polls = [_timed_get(f"{api_server}/api/v1/jobs/{job.id}/", headers=bearer) for _ in range(5)]

        assert len(held) == EXPECTED_OPEN
        assert all(b"event: status" in stream.body for stream in held)
        assert {stream.status for stream in refused} == {503}
        assert len(refused) == STREAMS - EXPECTED_OPEN
        assert {stream.headers["retry-after"] for stream in refused} == {"10"}
        assert {json.loads(stream.body)["code"] for stream in refused} == {"EVENTS_BUSY"}
        assert [response.status_code for response, _ in health + polls] == [200] * 10
        assert {response.json()["status"] for response, _ in polls} == {"RUNNING"}
        assert max(elapsed for _, elapsed in health + polls) < ANSWER_BOUND_SECONDS

        # Browsers that went away give their slots back: the next heartbeat write fails and the stream is closed.
        for stream in held:
            stream.connection.close()
        reopened = []
        wait_until(lambda: reopened.append(_open_stream(ticket["url"])) or reopened[-1].status == 200,
                   timeout=10, interval=0.1)
        streams += reopened
    finally:
        for stream in streams:
            stream.connection.close()
