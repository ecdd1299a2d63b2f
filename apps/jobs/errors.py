"""ARCHITECTURE §2, outcomes: what handlers raise and what job services refuse with."""

from apps.core.exceptions import ConflictError, NotFoundError, ServiceUnavailableError


class JobFailure(Exception):
    """Raised by a handler: `code` is stable UPPER_SNAKE, `message` is Korean for people.

    retryable=True asks for another attempt (until max_attempts, then DEAD); False ends the job FAILED.
    """

    def __init__(self, code: str, message: str, *, retryable: bool = False, details: dict | None = None):
        self.code = code
        self.message = message
        self.retryable = retryable
        self.details = details or {}
        super().__init__(f"{code}: {message}")


class JobInterrupted(Exception):
    """Raised by a handler that stopped early because ctx.stop_requested: the job is handed back for redelivery."""


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
