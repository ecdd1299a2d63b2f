"""ARCHITECTURE §2, status: the one job body the front end renders, and the bodies workers send."""

import json
import logging
import re

from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from apps.core.fields import JsonObjectField
from apps.jobs.errors import MAX_FAILURE_DETAILS_BYTES, failure_details_size
from apps.jobs.models import Job, JobState
from apps.jobs.registry import result_presenter

logger = logging.getLogger(__name__)

ERROR_CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
MAX_RESULT_BYTES = 256 * 1024


class JobErrorOutputSerializer(serializers.Serializer):
    """The same three keys as every API error: {code, message, details}."""

    code = serializers.CharField()
    message = serializers.CharField()
    details = JsonObjectField(help_text="실패의 세부 내용 (엑셀 가져오기: 건너뛴 행과 이유). 없으면 {}.")


class JobOutputSerializer(serializers.Serializer):
    """id, kind, status, progress, stage, result, error {code, message, details} | null, attempts, timestamps.

    The fields document the body (OpenAPI); to_representation builds it.
    """

    id = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.ChoiceField(choices=JobState.choices)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    stage = serializers.CharField()
    result = serializers.JSONField(allow_null=True)
    error = JobErrorOutputSerializer(allow_null=True)
    attempts = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def to_representation(self, job: Job) -> dict:
        # Hand-written: this body is polled every second by every admin, and field-by-field serialisation of a
        # Serializer with a dozen fields costs more than the query behind it.
        return {
            "id": str(job.id),
            "kind": job.kind,
            "status": job.state,
            "progress": job.progress,
            "stage": job.stage,
            "result": present_result(job),
            "error": _error(job),
            "attempts": job.attempts,
            "max_attempts": job.max_attempts,
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at),
            "updated_at": _iso(job.updated_at),
        }


def _error(job: Job) -> dict | None:
    if not job.error_code:
        return None
    return {"code": job.error_code, "message": job.error_message, "details": job.error_details or {}}


def result_is_presented(job: Job) -> bool:
    """True when the body shows a DONE result through the kind's presenter (it changes on every read)."""
    return job.state == JobState.DONE and job.result is not None and result_presenter(job.kind) is not None


def present_result(job: Job):
    if not result_is_presented(job):
        return job.result
    try:
        return result_presenter(job.kind)(job)
    except Exception:
        # A presenter failure (storage misconfigured) must not break the poll: the stored result still says DONE.
        logger.exception("job_present_result_failed", extra={"job_id": str(job.id), "kind": job.kind})
        return job.result


def _iso(value) -> str | None:
    # Same rendering as DRF's DateTimeField elsewhere in the API: the academy's local time (Asia/Seoul).
    return timezone.localtime(value).isoformat() if value is not None else None


class JobListFilterSerializer(serializers.Serializer):
    kind = serializers.CharField(required=False, max_length=40)
    status = serializers.ChoiceField(required=False, choices=JobState.choices)


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know: a worker sending a typo should hear about it."""

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields) if isinstance(self.initial_data, dict) else set()
        if unknown:
            raise serializers.ValidationError({name: ["알 수 없는 필드입니다."] for name in sorted(unknown)})
        return attrs


class StrictSerializerSchema(OpenApiSerializerExtension):
    """The schema says what StrictSerializer enforces: no property it does not list."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        return {**auto_schema._map_basic_serializer(self.target, direction), "additionalProperties": False}


class AttemptInputSerializer(StrictSerializer):
    attempt = serializers.IntegerField(required=False, min_value=1, max_value=1000)


class ClaimInputSerializer(StrictSerializer):
    worker_id = serializers.CharField(required=False, allow_blank=True, max_length=100)


class ProgressInputSerializer(AttemptInputSerializer):
    progress = serializers.IntegerField(min_value=0, max_value=100)
    stage = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class CompleteInputSerializer(AttemptInputSerializer):
    result = JsonObjectField()

    def validate_result(self, value):
        if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_RESULT_BYTES:
            raise serializers.ValidationError("결과가 너무 큽니다.")
        return value


class FailInputSerializer(AttemptInputSerializer):
    error_code = serializers.RegexField(ERROR_CODE_PATTERN)
    error_message = serializers.CharField(max_length=2000)
    retryable = serializers.BooleanField(required=False, default=False)
    final = serializers.BooleanField(required=False, default=False)
    details = JsonObjectField(
        required=False, default=dict,
        help_text=f"실패의 세부 내용: JSON 객체, 직렬화해 {MAX_FAILURE_DETAILS_BYTES // 1024}KB 이하.")

    def validate_details(self, value):
        if failure_details_size(value) > MAX_FAILURE_DETAILS_BYTES:
            raise serializers.ValidationError("세부 내용이 너무 큽니다.")
        return value


class InternalJobOutputSerializer(serializers.Serializer):
    """What a worker needs after a transition: enough to run and report, without another query."""

    id = serializers.UUIDField()
    kind = serializers.CharField()
    tenant_id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=JobState.choices)
    attempts = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    payload = serializers.JSONField()

    def to_representation(self, job: Job) -> dict:
        return {
            "id": str(job.id),
            "kind": job.kind,
            "tenant_id": job.tenant_id,
            "state": job.state,
            "attempts": job.attempts,
            "max_attempts": job.max_attempts,
            "payload": job.payload,
        }


class EventsTicketOutputSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    expires_at = serializers.DateTimeField()
    url = serializers.URLField(help_text="이벤트 스트림 주소 (티켓 포함): EventSource에 그대로 넘깁니다.")
