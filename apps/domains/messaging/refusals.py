"""Refusals of the pure messaging cores (ARCHITECTURE §4 Messaging), shaped like DomainError without importing it.

The cores stay free of Django, so these are plain exceptions carrying the same `code`, Korean `message`, `details`
and `status_code` as `apps.core.exceptions.DomainError`; the messaging services re-raise them as DomainError.
"""

from typing import Any


class MessagingRefusal(Exception):
    status_code = 400
    default_code = "MESSAGING_REFUSED"
    default_message = "메시지를 보낼 수 없습니다."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.code = self.default_code
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(f"{self.code}: {self.message}")
