import io
import json
import logging
import uuid

import pytest

from apps.core.logging import JsonFormatter


@pytest.fixture
def request_log():
    """What django.request writes through the JSON formatter during the test."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield output
    logger.removeHandler(handler)


def test_an_events_ticket_in_a_logged_request_is_masked(client, db, request_log):
    output = request_log
    job_id = uuid.uuid4()

    response = client.get(f"/api/v1/jobs/{job_id}/events/?ticket=SECRET-TICKET:abc&x=1")

    assert response.status_code == 403
    line = json.loads(output.getvalue().splitlines()[-1])
    assert line["request"] == f"<WSGIRequest: GET '/api/v1/jobs/{job_id}/events/?ticket=***&x=1'>"
    assert "SECRET-TICKET" not in output.getvalue()


class _Shown:
    def __str__(self):
        return "call 010-1234-5678 via /x?token=abc"


def test_other_objects_are_logged_as_masked_text_and_numbers_stay_numbers():
    record = logging.makeLogRecord({"msg": "done", "thing": _Shown(), "status_code": 503, "ok": True})

    line = json.loads(JsonFormatter().format(record))

    assert line["thing"] == "call 010****5678 via /x?token=***"
    assert (line["status_code"], line["ok"]) == (503, True)


def test_a_playback_token_in_a_logged_path_is_masked(client, db, request_log):
    response = client.get("/api/v1/videos/7/hls/SECRET-PLAYBACK-TOKEN:abc/master.m3u8")

    assert response.status_code == 403
    line = json.loads(request_log.getvalue().splitlines()[-1])
    assert line["event"] == "Forbidden: /api/v1/videos/7/hls/***/master.m3u8"
    assert "SECRET-PLAYBACK-TOKEN" not in request_log.getvalue()


@pytest.mark.parametrize("written", ["010-1234-5678", "01012345678", "010 1234 5678", "+82 10-1234-5678",
                                     "+821012345678", "82-10-1234-5678"])
def test_a_phone_is_masked_however_it_is_written(written):
    record = logging.makeLogRecord({"msg": f"보호자 {written} 연락"})

    line = json.loads(JsonFormatter().format(record))

    assert line["event"] == "보호자 010****5678 연락"
