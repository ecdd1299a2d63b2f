"""What a log handler could print of captured records, for tests that assert logs carry no phone, text or secret."""

import json
import logging

# Timestamps and process/thread ids: numbers whose digits can look like a phone number ("…0101234567") by chance.
# They are set by logging itself and never carry what a caller passed.
_CLOCK_AND_IDS = frozenset({"created", "msecs", "relativeCreated", "thread", "process"})


def logged_text(records: list[logging.LogRecord]) -> str:
    """Everything a handler could print of the records: the message, every extra field, the exception."""
    return json.dumps([{**{k: v for k, v in r.__dict__.items() if k not in _CLOCK_AND_IDS}, "msg": r.getMessage(),
                        "exc_text": logging.Formatter().formatException(r.exc_info) if r.exc_info else ""}
                       for r in records], default=str, ensure_ascii=False)
