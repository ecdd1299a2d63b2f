"""ARCHITECTURE §5, reporting: workers move their job through /api/v1/internal/jobs/<id>/... with X-Internal-Token.

Connection errors, timeouts and 5xx are retried with exponential backoff (every call is safe to repeat: a
repeated complete or fail with the same outcome is a no-op on the server); 4xx answers are final.
"""

import logging
import time
from collections.abc import Callable
from uuid import UUID

import requests
from django.conf import settings

logger = logging.getLogger(__name__)


class InternalApiError(Exception):
    def __init__(self, message: str, *, status: int | None = None, code: str = "", body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = body or {}


class JobStateConflict(InternalApiError):
    """409: the transition lost; `state` is the job's current state."""

    @property
    def state(self) -> str:
        return (self.body.get("details") or {}).get("state", "")


class JobNotFound(InternalApiError):
    """404: no job with this id."""


class InternalApiUnavailable(InternalApiError):
    """The API could not be reached, or kept answering 5xx, after every retry."""


class InternalApiClient:
    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        backoff_seconds: float = 0.5,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = (base_url if base_url is not None else settings.API_BASE_URL).rstrip("/")
        self.token = token if token is not None else settings.INTERNAL_WORKER_TOKEN
        read_timeout = timeout if timeout is not None else settings.WORKER_API_TIMEOUT_SECONDS
        self.timeout = (min(3.05, read_timeout), read_timeout)
        self.retries = retries if retries is not None else settings.WORKER_API_RETRIES
        self.backoff_seconds = backoff_seconds
        self.session = session or requests.Session()
        self._sleep = sleep

    def claim(self, job_id: UUID | str, *, worker_id: str = "") -> dict:
        return self._post(job_id, "claim", {"worker_id": worker_id} if worker_id else {})

    def heartbeat(self, job_id: UUID | str, *, attempt: int) -> dict:
        return self._post(job_id, "heartbeat", {"attempt": attempt})

    def progress(self, job_id: UUID | str, *, percent: int, stage: str = "", attempt: int) -> dict:
        return self._post(job_id, "progress", {"progress": percent, "stage": stage, "attempt": attempt})

    def complete(self, job_id: UUID | str, *, result: dict, attempt: int) -> dict:
        return self._post(job_id, "complete", {"result": result, "attempt": attempt})

    def fail(
        self, job_id: UUID | str, *, code: str, message: str, retryable: bool = False, final: bool = False,
        attempt: int, details: dict | None = None,
    ) -> dict:
        body = {"error_code": code, "error_message": message, "retryable": retryable, "final": final,
                "attempt": attempt}
        if details:
            # Only when there are some: a report without them is also one an API from before `details` accepts.
            body["details"] = details
        return self._post(job_id, "fail", body)

    def _post(self, job_id: UUID | str, action: str, body: dict) -> dict:
        url = f"{self.base_url}/api/v1/internal/jobs/{job_id}/{action}/"
        headers = {"X-Internal-Token": self.token}
        last_error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff_seconds * 2 ** (attempt - 1))
            try:
                response = self.session.post(url, json=body, headers=headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_error = type(exc).__name__
                logger.warning("internal_api_unreachable", extra={"job_id": str(job_id), "action": action,
                                                                  "try": attempt + 1, "error": last_error})
                continue
            if response.status_code >= 500:
                last_error = f"HTTP {response.status_code}"
                logger.warning("internal_api_server_error", extra={"job_id": str(job_id), "action": action,
                                                                   "try": attempt + 1, "status": response.status_code})
                continue
            return self._result(response, action)
        raise InternalApiUnavailable(f"{action} {job_id}: {last_error}")

    @staticmethod
    def _result(response: requests.Response, action: str) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.ok:
            return body
        code = body.get("code", "") if isinstance(body, dict) else ""
        message = f"{action}: HTTP {response.status_code} {code}"
        if response.status_code == 409:
            raise JobStateConflict(message, status=409, code=code, body=body)
        if response.status_code == 404:
            raise JobNotFound(message, status=404, code=code, body=body)
        raise InternalApiError(message, status=response.status_code, code=code,
                               body=body if isinstance(body, dict) else {})
