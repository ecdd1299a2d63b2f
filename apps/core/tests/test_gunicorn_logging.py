import json
import logging
from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from apps.core.gunicorn_logging import JsonAccessLogger


def _logger_writing_to(records: list) -> JsonAccessLogger:
    config = Config()
    config.set("accesslog", "-")
    logger = JsonAccessLogger(config)

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger.access_log.handlers = [Keep()]
    return logger


def test_the_access_log_is_json_with_the_ticket_and_the_playback_token_masked():
    records = []
    logger = _logger_writing_to(records)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/videos/7/hls/SECRET-TOKEN:x/master.m3u8",
               "QUERY_STRING": "ticket=SECRET-TICKET&x=1"}

    logger.access(SimpleNamespace(status_code=403, sent=120), None, environ, timedelta(milliseconds=12.34))

    (line,) = records
    entry = json.loads(line)
    assert entry["path"] == "/api/v1/videos/7/hls/***/master.m3u8?ticket=***&x=1"
    assert (entry["logger"], entry["method"], entry["status"], entry["bytes"], entry["duration_ms"]) == (
        "gunicorn.access", "GET", 403, 120, 12.3)
    assert "SECRET" not in line


def test_the_api_entrypoint_uses_it():
    from apps.api.config.settings.base import BASE_DIR

    script = (BASE_DIR / "docker" / "api_entrypoint.sh").read_text()

    assert "--logger-class apps.core.gunicorn_logging.JsonAccessLogger" in script
