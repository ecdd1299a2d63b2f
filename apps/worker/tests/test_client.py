import json

import pytest
import requests

from apps.worker.client import (
    InternalApiClient,
    InternalApiError,
    InternalApiUnavailable,
    JobNotFound,
    JobStateConflict,
)


def _response(status: int, body: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body or {}).encode()
    return response


class ScriptedSession:
    """Answers each post with the next scripted response (or raises it), recording what was sent."""

    def __init__(self, *script):
        self.script = list(script)
        self.calls: list[dict] = []

    def post(self, url, *, json, headers, timeout):
        self.calls.append({"url": url, "json": json, "headers": headers, "timeout": timeout})
        outcome = self.script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def _client(session, sleeps=None):
    return InternalApiClient("http://10.0.0.5:8000/", "secret-token", timeout=5, retries=3, backoff_seconds=0.5,
                             session=session, sleep=(sleeps.append if sleeps is not None else lambda _: None))


def test_posts_to_the_internal_path_with_the_token_and_timeouts():
    session = ScriptedSession(_response(200, {"state": "DONE"}))

    body = _client(session).complete("a1b2", result={"created": 1}, attempt=2)

    assert body == {"state": "DONE"}
    assert session.calls == [{
        "url": "http://10.0.0.5:8000/api/v1/internal/jobs/a1b2/complete/",
        "json": {"result": {"created": 1}, "attempt": 2},
        "headers": {"X-Internal-Token": "secret-token"},
        "timeout": (3.05, 5),
    }]


def test_a_fail_sends_details_only_when_there_are_some():
    session = ScriptedSession(_response(200, {"state": "FAILED"}), _response(200, {"state": "FAILED"}))
    client = _client(session)

    client.fail("a1b2", code="EXCEL_NO_ROWS", message="없음", attempt=1, details={"skipped_count": 3})
    client.fail("a1b2", code="BAD_INPUT", message="입력 오류", attempt=1, details={})

    assert [call["json"] for call in session.calls] == [
        {"error_code": "EXCEL_NO_ROWS", "error_message": "없음", "retryable": False, "final": False, "attempt": 1,
         "details": {"skipped_count": 3}},
        {"error_code": "BAD_INPUT", "error_message": "입력 오류", "retryable": False, "final": False, "attempt": 1},
    ]


def test_connection_errors_and_5xx_are_retried_with_exponential_backoff():
    sleeps = []
    session = ScriptedSession(requests.ConnectionError("refused"), requests.Timeout("slow"), _response(502),
                              _response(200, {"state": "RUNNING"}))

    body = _client(session, sleeps).heartbeat("a1b2", attempt=1)

    assert body == {"state": "RUNNING"}
    assert len(session.calls) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_gives_up_after_the_retries_with_a_typed_error():
    session = ScriptedSession(*[_response(503)] * 4)

    with pytest.raises(InternalApiUnavailable):
        _client(session).heartbeat("a1b2", attempt=1)

    assert len(session.calls) == 4


def test_409_is_not_retried_and_carries_the_current_state():
    session = ScriptedSession(_response(409, {"code": "JOB_STATE_CONFLICT", "message": "충돌",
                                              "details": {"state": "CANCELLED"}}))

    with pytest.raises(JobStateConflict) as raised:
        _client(session).claim("a1b2")

    assert raised.value.state == "CANCELLED"
    assert raised.value.status == 409
    assert len(session.calls) == 1


def test_404_and_other_4xx_are_not_retried():
    not_found = ScriptedSession(_response(404, {"code": "JOB_NOT_FOUND"}))
    refused = ScriptedSession(_response(403, {"code": "PERMISSION_DENIED"}))

    with pytest.raises(JobNotFound):
        _client(not_found).claim("a1b2")
    with pytest.raises(InternalApiError) as raised:
        _client(refused).claim("a1b2")

    assert raised.value.status == 403
    assert raised.value.code == "PERMISSION_DENIED"
    assert len(not_found.calls) == len(refused.calls) == 1


def test_defaults_come_from_settings(settings):
    settings.API_BASE_URL = "http://127.0.0.1:9999"
    settings.INTERNAL_WORKER_TOKEN = "from-settings"

    client = InternalApiClient()

    assert (client.base_url, client.token) == ("http://127.0.0.1:9999", "from-settings")
