"""ARCHITECTURE §2 status API and internal callbacks: admins poll jobs, workers report through token-guarded paths."""

import functools
import hashlib
import json
import time
from urllib.parse import urlencode

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend

from apps.core.authentication import token_version_of
from apps.core.models import User
from apps.core.permissions import HasInternalWorkerToken, IsTenantAdmin, IsTenantStaff
from apps.core.tenancy import TenantScopedMixin
from apps.jobs import events, selectors, services, status_cache
from apps.jobs.errors import EventsBusyError, JobNotFoundError
from apps.jobs.models import Job
from apps.jobs.serializers import (
    AttemptInputSerializer,
    ClaimInputSerializer,
    CompleteInputSerializer,
    EventsTicketOutputSerializer,
    FailInputSerializer,
    InternalJobOutputSerializer,
    JobListFilterSerializer,
    JobOutputSerializer,
    ProgressInputSerializer,
    result_is_presented,
)

TERMINAL_CACHE_CONTROL = {"private": True, "max_age": 3600}


class JobScopedMixin(TenantScopedMixin):
    def get_tenant_queryset(self, tenant):
        return Job.objects.filter(tenant=tenant)

    def get_job(self, job_id) -> Job:
        job = self.get_queryset().filter(id=job_id).first()
        if job is None:
            raise JobNotFoundError()
        return job


def _etag(job: Job) -> str | None:
    """A finished job's ETag; None while it may still change, or when its kind presents the result afresh on each
    read (a short-lived download URL: a cached copy would hand out an expired URL)."""
    if not job.is_terminal or result_is_presented(job):
        return None
    digest = hashlib.sha256(f"{job.id}:{job.state}:{job.updated_at.isoformat()}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def _with_cache_headers(request, etag: str | None, make_response):
    """A finished job is cacheable by the browser and answers 304 to its ETag; anything else is no-store."""
    if etag is None:
        response = make_response(status.HTTP_200_OK)
        response["Cache-Control"] = "no-store"
    else:
        matched = etag in request.headers.get("If-None-Match", "")
        response = make_response(status.HTTP_304_NOT_MODIFIED if matched else status.HTTP_200_OK)
        response["ETag"] = etag
        patch_cache_control(response, **TERMINAL_CACHE_CONTROL)
    patch_vary_headers(response, ["Authorization"])
    return response


class JobDetailApi(JobScopedMixin, APIView):
    """GET /api/v1/jobs/<id>/ (and the historical /enrollments/excel_job_status/<id>/), the usual DRF way.

    The URL is served by `job_status`, which answers the common case itself and hands everything else here.
    """

    permission_classes = [IsTenantStaff]

    @extend_schema(
        tags=["작업"], summary="작업 상태 조회",
        description="작업의 상태, 진행률, 결과(`result`)나 오류(`error`)를 돌려줍니다. 끝난 작업은 `ETag`를 주고 "
                    "`If-None-Match`에 `304`로 답하며, `/api/v1/enrollments/excel_job_status/{job_id}/`도 같은 "
                    "응답입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        responses={200: JobOutputSerializer, 304: OpenApiResponse(description="ETag 일치 (완료된 작업)")})
    def get(self, request, job_id):
        job = self.get_job(job_id)
        return _with_cache_headers(request, _etag(job), lambda code: Response(
            JobOutputSerializer(job).data if code == status.HTTP_200_OK else None, status=code))


_job_detail_api = JobDetailApi.as_view()
_jwt = JWTAuthentication()  # used only to read and verify the token, never to load the user


@functools.lru_cache(maxsize=4096)
def _verified_token(raw_token: bytes) -> tuple[int, float, int]:
    """(user id, expiry, token version) of a token whose signature and claims simplejwt accepted. Bounded by the
    number of tokens polling at once: an admin's token is verified once, not every second. Refusals raise, so they
    are not kept. The version is compared with the user's on every poll (cached entry or query), never kept here."""
    token = _jwt.get_validated_token(raw_token)
    return token[jwt_settings.USER_ID_CLAIM], float(token["exp"]), token_version_of(token)


def _token_user(request) -> tuple[int, int] | None:
    """(user id, token version) of the request's valid, unexpired token."""
    try:
        header = _jwt.get_header(request)
        raw_token = _jwt.get_raw_token(header) if header is not None else None
        if not raw_token:
            return None
        user_id, expires, version = _verified_token(raw_token)
    except (exceptions.AuthenticationFailed, KeyError, TypeError, ValueError):
        return None
    # simplejwt's own expiry rule (Token.check_exp), applied on every use of a remembered token.
    return (user_id, version) if time.time() < expires + token_backend.get_leeway().total_seconds() else None


def _json_status(request, body: bytes, etag: str | None) -> HttpResponse:
    return _with_cache_headers(request, etag, lambda code: HttpResponse(
        body if code == status.HTTP_200_OK else b"", status=code, content_type="application/json"))


def job_status(request, job_id):
    """The status poll, polled every second by every admin: no SQL at all when the cache has it, else one query.

    The common case, a valid JWT of a user allowed to see the job, is answered here: the token is verified without
    loading the user, and its version (apps/core/authentication.py) must be the one cached with the user's staff
    entry or matched by the query; the body and the user's staff tenant come from Redis (apps/jobs/status_cache.py),
    or from one query that joins the user to check they are active staff of the job's active tenant, which then
    fills the cache.
    Everything else (no or bad token, session users, refusals, other methods) is handed to JobDetailApi, so every
    answer but the fast 200/304 is DRF's own. Plain Django because DRF's request/response machinery costs more than
    the poll itself (scripts/bench/job_status.py).
    """
    if request.method == "GET" and (token_user := _token_user(request)) is not None:
        user_id, token_version = token_user
        found = status_cache.lookup(job_id=job_id, user_id=user_id, token_version=token_version)
        cached = found.status()
        if cached is not None:
            return _json_status(request, cached.body, cached.etag)
        job = selectors.job_get_for_staff(user_id=user_id, job_id=job_id, token_version=token_version)
        if job is not None:
            body = json.dumps(JobOutputSerializer(job).data, ensure_ascii=False, cls=DjangoJSONEncoder).encode()
            etag = _etag(job)
            cacheable = not result_is_presented(job)
            status_cache.remember(found, tenant_id=job.tenant_id, etag=etag, body=body if cacheable else None)
            return _json_status(request, body, etag)
    return _job_detail_api(request, job_id=job_id)


# The schema generator documents the fast path as the DRF view whose answers it shares.
job_status.cls = JobDetailApi
job_status.initkwargs = {}


class JobListApi(JobScopedMixin, ListAPIView):
    """GET /api/v1/jobs/?kind=&status= newest first, paginated."""

    permission_classes = [IsTenantStaff]
    filter_backends = []
    serializer_class = JobOutputSerializer

    @extend_schema(
        tags=["작업"], summary="작업 목록",
        description="학원의 작업을 최신순으로 쪽 단위로 돌려주며 `kind`와 `status`로 거릅니다. 원장, 관리자, 강사, "
                    "직원이 호출할 수 있습니다.",
        parameters=[JobListFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_tenant_queryset(self, tenant):
        filters = JobListFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.job_list(
            tenant=tenant, kind=filters.validated_data.get("kind"), state=filters.validated_data.get("status")
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([JobOutputSerializer(job).data for job in page])


class JobCancelApi(JobScopedMixin, APIView):
    """POST /api/v1/jobs/<id>/cancel/: QUEUED or RUNNING → CANCELLED; 409 once the job has ended otherwise."""

    permission_classes = [IsTenantAdmin]

    @extend_schema(
        tags=["작업"], summary="작업 취소",
        description="대기 중이거나 실행 중인 작업을 취소합니다. 이미 끝난 작업은 `409 JOB_STATE_CONFLICT`입니다. "
                    "원장과 관리자만 호출할 수 있습니다.",
        request=None, responses=JobOutputSerializer)
    def post(self, request, job_id):
        job = self.get_job(job_id)
        job = services.raise_unless_won(services.job_cancel(job_id=job.id))
        return Response(JobOutputSerializer(job).data)


class EventStreamRenderer(BaseRenderer):
    media_type = "text/event-stream"
    format = "sse"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data, ensure_ascii=False).encode() if data is not None else b""


class EventsTicketAuthentication(BaseAuthentication):
    """`?ticket=` from POST .../events/ticket/, for EventSource, which cannot send the JWT. Without the parameter the
    usual authenticators decide; with it, only the ticket does."""

    def authenticate(self, request):
        ticket = request.query_params.get("ticket")
        if ticket is None:
            return None
        user_id, version = events.job_events_ticket_holder(ticket=ticket,
                                                           job_id=request.parser_context["kwargs"]["job_id"])
        # The same refusal as a JWT of a deleted or deactivated user, or of an older token version; tenant and role
        # are the permission's to check.
        user = User.objects.select_related("tenant").filter(id=user_id, is_active=True, token_version=version).first()
        if user is None:
            raise exceptions.AuthenticationFailed()
        return user, None

    def authenticate_header(self, request):
        return _jwt.authenticate_header(request)


class EventsTicketScheme(OpenApiAuthenticationExtension):
    target_class = EventsTicketAuthentication
    name = "eventsTicket"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "query", "name": "ticket",
                "description": "POST /api/v1/jobs/{id}/events/ticket/ 이 발급한 티켓 (그 작업의 이벤트 스트림 전용)"}


class JobEventsTicketApi(JobScopedMixin, APIView):
    """POST /api/v1/jobs/<id>/events/ticket/: a ticket for the events stream of one job, for the calling user."""

    permission_classes = [IsTenantStaff]

    @extend_schema(
        tags=["작업"], summary="작업 이벤트 구독 티켓 발급",
        description=(
            "EventSource는 Authorization 헤더를 보낼 수 없으므로, 이 작업의 이벤트 스트림에 쓸 짧은 티켓을 발급합니다. "
            "`url`(스트림 주소, `?ticket=` 포함)을 그대로 EventSource에 넘기면 됩니다. 티켓은 이 작업과 요청한 "
            "사용자에게만 유효하며, `expires_at`까지 재연결에 다시 쓸 수 있습니다. 다른 학원의 작업은 404입니다."
        ),
        request=None,
        responses=EventsTicketOutputSerializer,
    )
    def post(self, request, job_id):
        job = self.get_job(job_id)
        issued = events.job_events_ticket_issue(job_id=job.id, user_id=request.user.id,
                                                token_version=request.user.token_version)
        # The host the browser just called (ALLOWED_HOSTS-checked), not API_BASE_URL, which may be a private address.
        path = reverse("job-events", kwargs={"job_id": job.id})
        url = request.build_absolute_uri(f"{path}?{urlencode({'ticket': issued.ticket})}")
        body = EventsTicketOutputSerializer({"ticket": issued.ticket, "expires_at": issued.expires_at, "url": url})
        return Response(body.data, headers={"Cache-Control": "no-store"})


class JobEventsApi(JobScopedMixin, APIView):
    """GET /api/v1/jobs/<id>/events/: Server-Sent Events, one `status` event per change until a terminal state, then
    an `end` event (apps/jobs/events.py). Authorised by the JWT or by `?ticket=`.

    A reconnect whose Last-Event-ID names the terminal state answers 204, which stops EventSource for good; beyond
    JOBS_SSE_MAX_STREAMS_PER_PROCESS open streams, 503 with Retry-After. Errors are JSON whatever the Accept header.
    """

    authentication_classes = [EventsTicketAuthentication, *APIView.authentication_classes]
    permission_classes = [IsTenantStaff]
    renderer_classes = [EventStreamRenderer, JSONRenderer]

    @extend_schema(
        tags=["작업"], summary="작업 상태 스트림 (SSE)",
        description="작업 상태가 바뀔 때마다 `status` 이벤트를 보내는 Server-Sent Events 스트림으로, 작업이 끝나면 "
                    "닫힙니다. 최대 연결 시간(기본 55초)이 지나면 `timeout` 이벤트 뒤 닫히니 다시 연결합니다. "
                    "원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        responses={(200, "text/event-stream"): OpenApiTypes.STR})
    def get(self, request, job_id):
        job = self.get_job(job_id)
        last_event_id = request.headers.get("Last-Event-ID")
        if events.job_events_already_ended(job=job, last_event_id=last_event_id):
            return HttpResponse(status=status.HTTP_204_NO_CONTENT, headers={"Cache-Control": "no-store"})
        stream = events.job_events_open(job=job, last_event_id=last_event_id)
        response = StreamingHttpResponse(stream, content_type="text/event-stream")
        response["Cache-Control"] = "no-store"
        response["X-Accel-Buffering"] = "no"
        return response

    def handle_exception(self, exc):
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        response = super().handle_exception(exc)
        if isinstance(exc, EventsBusyError):
            response["Retry-After"] = str(exc.retry_after)
        return response


# ---------------------------------------------------------------------------
# Internal callbacks: workers, by job id, any tenant; X-Internal-Token only.
# ---------------------------------------------------------------------------
class InternalJobApi(APIView):
    authentication_classes = []
    permission_classes = [HasInternalWorkerToken]
    input_serializer = AttemptInputSerializer

    def post(self, request, job_id):
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = self.transition(job_id, serializer.validated_data)
        job = services.raise_unless_won(outcome)
        return Response(InternalJobOutputSerializer(job).data)

    def transition(self, job_id, data) -> services.TransitionResult:
        raise NotImplementedError


@extend_schema(
    tags=["내부"], summary="작업 가져가기 (워커)",
    description="대기 중인 작업을 실행 중으로 가져가고 작업 내용(`payload`)과 시도 횟수(`attempts`)를 받습니다. "
                "하트비트가 끊긴 작업은 넘겨받으며, 가져갈 수 없는 상태면 `409 JOB_STATE_CONFLICT`입니다. 워커만 "
                "`X-Internal-Token` 헤더로 호출하며, 없거나 틀리면 `403`입니다.",
    request=ClaimInputSerializer, responses=InternalJobOutputSerializer)
class InternalJobClaimApi(InternalJobApi):
    input_serializer = ClaimInputSerializer

    def transition(self, job_id, data):
        return services.job_claim(job_id=job_id)


@extend_schema(
    tags=["내부"], summary="작업 하트비트 (워커)",
    description="실행 중인 작업이 살아 있음을 알립니다. 취소되었거나 다른 시도로 넘어간 작업은 "
                "`409 JOB_STATE_CONFLICT`로 답해 워커가 멈추게 합니다. 워커만 `X-Internal-Token` 헤더로 호출하며, "
                "없거나 틀리면 `403`입니다.",
    request=AttemptInputSerializer, responses=InternalJobOutputSerializer)
class InternalJobHeartbeatApi(InternalJobApi):
    def transition(self, job_id, data):
        return services.job_heartbeat(job_id=job_id, attempt=data.get("attempt"))


@extend_schema(
    tags=["내부"], summary="작업 진행률 보고 (워커)",
    description="실행 중인 작업의 진행률(0~100)과 단계를 기록합니다. 실행 중이 아닌 작업은 "
                "`409 JOB_STATE_CONFLICT`입니다. 워커만 `X-Internal-Token` 헤더로 호출하며, 없거나 틀리면 "
                "`403`입니다.",
    request=ProgressInputSerializer, responses=InternalJobOutputSerializer)
class InternalJobProgressApi(InternalJobApi):
    input_serializer = ProgressInputSerializer

    def transition(self, job_id, data):
        return services.job_progress(
            job_id=job_id, percent=data["progress"], stage=data["stage"], attempt=data.get("attempt")
        )


@extend_schema(
    tags=["내부"], summary="작업 완료 보고 (워커)",
    description="실행 중인 작업을 결과와 함께 완료(`DONE`)로 바꿉니다. 같은 결과로 다시 보내도 성공하고, 그 밖의 "
                "상태는 `409 JOB_STATE_CONFLICT`입니다. 워커만 `X-Internal-Token` 헤더로 호출하며, 없거나 틀리면 "
                "`403`입니다.",
    request=CompleteInputSerializer, responses=InternalJobOutputSerializer)
class InternalJobCompleteApi(InternalJobApi):
    input_serializer = CompleteInputSerializer

    def transition(self, job_id, data):
        return services.job_complete(job_id=job_id, result=data["result"], attempt=data.get("attempt"))


@extend_schema(
    tags=["내부"], summary="작업 실패 보고 (워커)",
    description="작업의 실패를 기록합니다. 다시 시도할 수 있고 횟수가 남았으면 대기(`QUEUED`)로, 아니면 `DEAD`나 "
                "`FAILED`로 바뀝니다. `details`(JSON 객체, 64KB 이하)는 상태 조회의 `error.details`로 보이고, 이전 "
                "시도의 것을 대신합니다. 워커만 `X-Internal-Token` 헤더로 호출하며, 없거나 틀리면 `403`입니다.",
    request=FailInputSerializer, responses=InternalJobOutputSerializer)
class InternalJobFailApi(InternalJobApi):
    input_serializer = FailInputSerializer

    def transition(self, job_id, data):
        return services.job_fail(
            job_id=job_id, code=data["error_code"], message=data["error_message"], retryable=data["retryable"],
            final=data["final"], attempt=data.get("attempt"), details=data["details"],
        )
