"""Structured logs: one JSON object per line, with phone numbers masked and secrets never printed."""

import json
import logging
import re
from datetime import UTC, datetime

# A Korean mobile number inside free text, as people write one: 010-1234-5678, 01012345678, +82 10 1234 5678,
# 82-10-…. Logs and error reports (error_tracking.py) mask with it; this module imports nothing from Django, so both
# can load before the settings.
PHONE_IN_TEXT = re.compile(
    r"(?<!\d)(?:\+?82[-. ]?0?|0)(?P<carrier>1[016789])[-. ]?\d{3,4}[-. ]?(?P<last>\d{4})(?!\d)")
_SECRET_KEYS = ("token", "secret", "password", "authorization", "key")
# Credentials a browser must put in a URL (an events ticket): Django logs the request, query string included.
_URL_SECRET = re.compile(r"([?&](?:ticket|token)=)[^&#\s'\"]+", re.IGNORECASE)
# A playback token is a path segment (players cannot send headers): /api/v1/videos/<id>/hls/<token>/...
_PATH_SECRET = re.compile(r"(/hls/)[^/\s'\"]+")
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def mask_phone(text: str) -> str:
    """01012345678 → 010****5678: enough to tell numbers apart, not enough to call one."""
    return PHONE_IN_TEXT.sub(lambda m: f"0{m.group('carrier')}****{m.group('last')}", text)


def mask_text(text: str) -> str:
    """Phones masked, and the credentials a URL may carry (events ticket, playback token) replaced by ***."""
    return _PATH_SECRET.sub(r"\1***", _URL_SECRET.sub(r"\1***", mask_phone(text)))


def _clean(key: str, value):
    if any(part in key.lower() for part in _SECRET_KEYS):
        return "***"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _clean(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(key, v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    # Any other object (django.request's WSGIRequest, with its query string) is logged as its masked text.
    return mask_text(str(value))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": mask_text(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = _clean(key, value)
        if record.exc_info:
            payload["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)
