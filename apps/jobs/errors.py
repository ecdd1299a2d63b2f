"""ARCHITECTURE §2, outcomes: what handlers raise and what job services refuse with."""

import json

from apps.core.exceptions import ConflictError, ForbiddenError, NotFoundError, ServiceUnavailableError

# The largest failure `details` a job keeps, as UTF-8 JSON: the internal fail endpoint refuses more. A handler whose
# details can grow with its input trims them itself; the runtime replaces whatever is still larger.
MAX_FAILURE_DETAILS_BYTES = 64 * 1024


def failure_details_size(details: dict) -> int:
    """The size the fail endpoint measures `details` by."""
    return len(json.dumps(details, ensure_ascii=False).encode())


class JobFailure(Exception):
    """Raised by a handler: `code` is stable UPPER_SNAKE, `message` is Korean for people.

    retryable=True asks for another attempt (until max_attempts, then DEAD); False ends the job FAILED. `details`, a
    JSON object within MAX_FAILURE_DETAILS_BYTES, is shown beside them in the status body's `error`.
    """

    def __init__(self, code: str, message: str, *, retryable: bool = False, details: dict | None = None):
        self.code = code
        self.message = message
        self.retryable = retryable
        self.details = details or {}
        super().__init__(f"{code}: {message}")


class JobInterrupted(Exception):
    """Raised by a handler that stopped early because ctx.stop_requested: the job is handed back for redelivery, or,
    when its time limit passed (ctx.deadline_passed), ended FAILED `INFERENCE_TIMEOUT` with `details` (a JSON object
    saying what was done, e.g. the pages graded: the work itself stays where the handler saved it)."""

    def __init__(self, *, details: dict | None = None):
        self.details = details or {}
        super().__init__("job interrupted")


class JobDispatchError(ServiceUnavailableError):
    default_code = "JOB_ENQUEUE_FAILED"
    default_message = "작업 큐 등록에 실패했습니다. 잠시 후 자동으로 다시 시도됩니다."


class JobNotFoundError(NotFoundError):
    default_code = "JOB_NOT_FOUND"
    default_message = "작업을 찾을 수 없습니다."


class JobStateConflictError(ConflictError):
    default_code = "JOB_STATE_CONFLICT"
    default_message = "작업의 현재 상태에서는 처리할 수 없습니다."

    def __init__(self, state: str):
        super().__init__(details={"state": state})
        self.state = state


class UnknownJobKindError(LookupError):
    """A kind nobody registered: a programming error, not a user error."""


class EventsTicketInvalidError(ForbiddenError):
    default_code = "EVENTS_TICKET_INVALID"
    default_message = "작업 알림 티켓이 올바르지 않습니다. 새 티켓을 받아 주세요."


class EventsTicketExpiredError(ForbiddenError):
    default_code = "EVENTS_TICKET_EXPIRED"
    default_message = "작업 알림 티켓이 만료되었습니다. 새 티켓을 받아 주세요."


class EventsBusyError(ServiceUnavailableError):
    """Every events stream this process allows is open: the caller retries later or polls the status instead."""

    default_code = "EVENTS_BUSY"
    default_message = "실시간 알림 연결이 많습니다. 잠시 후 다시 시도하거나 상태 조회를 이용해 주세요."

    def __init__(self, *, retry_after: int):
        super().__init__(details={"retry_after": retry_after})
        self.retry_after = retry_after
