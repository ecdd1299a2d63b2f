"""Health and auth endpoints."""

import logging

from django.conf import settings
from django.db import connection
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from apps.core.login_throttle import (
    LoginThrottledError,
    client_address,
    login_failure_record,
    login_success_record,
    login_throttle_check,
)
from apps.core.parent_login import login_credentials
from apps.core.serializers import MeOutputSerializer
from apps.core.tokens import VersionedTokenObtainPairSerializer, VersionedTokenRefreshSerializer
from apps.core.versioned_cache import redis_client

logger = logging.getLogger(__name__)


class VersionedJWTScheme(SimpleJWTScheme):
    """The bearer scheme of apps/core/authentication.py, documented as simplejwt's (the schema does not change)."""

    target_class = "apps.core.authentication.VersionedJWTAuthentication"


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:
        logger.warning("health: database unreachable", exc_info=True)
        return False


def _redis_status() -> str:
    if not settings.REDIS_URL:
        return "disabled"
    try:
        # The process's pooled client: a load balancer polls /health often, and a new connection per check adds up.
        redis_client().ping()
        return "connected"
    except Exception:
        logger.warning("health: redis unreachable")
        return "disconnected"


HealthOutputSerializer = inline_serializer("HealthOutput", {
    "status": serializers.ChoiceField(choices=["healthy", "unhealthy"]),
    "database": serializers.ChoiceField(choices=["connected", "disconnected"]),
    "redis": serializers.ChoiceField(choices=["connected", "disconnected", "disabled"]),
    "version": serializers.CharField(),
})


class HealthApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["상태"], summary="상태 확인",
        description="데이터베이스와 Redis 연결 상태, 앱 버전을 돌려줍니다. 로드 밸런서가 인증 없이 호출하며, "
                    "데이터베이스에 연결할 수 없으면 `503`과 `status: unhealthy`입니다.",
        responses={200: HealthOutputSerializer, 503: HealthOutputSerializer}, auth=[])
    def get(self, request):
        database_ok = _database_ok()
        body = {
            "status": "healthy" if database_ok else "unhealthy",
            "database": "connected" if database_ok else "disconnected",
            "redis": _redis_status(),
            "version": settings.APP_VERSION,
        }
        return Response(body, status=200 if database_ok else 503)


@extend_schema(exclude=True)
class HealthAliasApi(HealthApi):
    """/health/ for load balancers that add a slash; documented once, as /health."""


class MeApi(APIView):
    @extend_schema(
        tags=["인증"], summary="내 정보",
        description="로그인한 사용자의 계정 정보(역할 `role`, 소속 학원)를 돌려줍니다. 학원의 로그인 사용자 누구나 "
                    "호출할 수 있으며, 토큰이 없거나 만료되면 `401`입니다.",
        responses=MeOutputSerializer)
    def get(self, request):
        return Response(MeOutputSerializer(request.user).data)


TokenObtainOutputSerializer = inline_serializer("TokenObtainOutput", {
    "access": serializers.CharField(), "refresh": serializers.CharField(),
})
LoginThrottledOutputSerializer = inline_serializer("LoginThrottledOutput", {
    "code": serializers.CharField(), "message": serializers.CharField(),
    "details": inline_serializer("LoginThrottledDetails", {"retry_after_seconds": serializers.IntegerField()}),
})


# Two ways in: `username` (staff, students) or `academy` + `phone` (parents); `password` with either.
TokenObtainInputSerializer = inline_serializer("TokenObtainInput", {
    "username": serializers.CharField(required=False, help_text="직원·학생: 아이디"),
    "academy": serializers.CharField(required=False, help_text="학부모: 학원 코드 (예: demo)"),
    "phone": serializers.CharField(required=False, help_text="학부모: 휴대폰 번호 (010-1234-5678 등 어떤 형식이든)"),
    "password": serializers.CharField(help_text="비밀번호"),
})


@extend_schema_view(post=extend_schema(
    tags=["인증"], summary="토큰 발급 (로그인)",
    description="아이디(`username`)와 비밀번호(`password`)로 로그인해 `access`와 `refresh` JWT를 받습니다. 로그인 "
                "없이 호출하며, 아이디나 비밀번호가 틀리면 `401 AUTHENTICATION_FAILED`입니다. 이후 요청에는 "
                "`Authorization: Bearer <access>` 헤더를 붙입니다. 같은 주소에서 같은 아이디로 여러 번 틀리거나 "
                "한 주소에서 여러 아이디로 많이 틀리면 비밀번호를 확인하지 않고 `429 LOGIN_THROTTLED`로 답하며, "
                "`Retry-After` 헤더와 `details.retry_after_seconds`가 다시 시도할 수 있을 때까지의 초입니다. "
                "다른 주소에서는 같은 아이디로 계속 로그인할 수 있습니다. "
                "학부모는 `username` 대신 학원 코드(`academy`)와 휴대폰 번호(`phone`)로 로그인합니다(같은 번호가 "
                "두 학원의 학부모이면 학원마다 다른 계정입니다). 둘을 함께 보내면 `400 LOGIN_FIELDS_INVALID`, "
                "올바르지 않은 번호는 `400 INVALID_PHONE`입니다. 비밀번호는 맞지만 계정이 비활성이면 "
                "`403`으로 까닭을 말합니다: 보호자 동의를 기다리는 만 14세 미만 학생은 `ACCOUNT_PENDING_CONSENT`, "
                "학원이 중지한 계정은 `ACCOUNT_INACTIVE`입니다. 토큰에는 계정의 토큰 버전이 들어가며, 비밀번호 "
                "재설정이나 계정 중지 뒤에는 그 전 토큰이 모두 `401`입니다.",
    request=TokenObtainInputSerializer,
    responses={200: TokenObtainOutputSerializer, 429: LoginThrottledOutputSerializer}))
class TokenObtainApi(TokenObtainPairView):
    """simplejwt's login behind the failed-login throttle, checked before the password; tokens carry a version."""

    serializer_class = VersionedTokenObtainPairSerializer

    def post(self, request, *args, **kwargs):
        data = request.data
        # A parent logs in with {academy, phone, password}: mapped to their username before simplejwt's serializer.
        self.parent_credentials = login_credentials(data)
        data = self.parent_credentials or data
        username = data.get("username") if hasattr(data, "get") else None
        if not isinstance(username, str) or not username:
            return super().post(request, *args, **kwargs)
        address = client_address(request)
        login_throttle_check(username=username, address=address)
        try:
            response = super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            login_failure_record(username=username, address=address)
            raise
        if response.status_code == 200:
            login_success_record(username=username, address=address)
        return response

    def get_serializer(self, *args, **kwargs):
        if getattr(self, "parent_credentials", None) is not None:
            kwargs["data"] = self.parent_credentials
        return super().get_serializer(*args, **kwargs)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, LoginThrottledError):
            response["Retry-After"] = str(exc.retry_after_seconds)
        return response


@extend_schema_view(post=extend_schema(
    tags=["인증"], summary="토큰 갱신",
    description="`refresh` 토큰으로 새 `access` 토큰을 받습니다. 로그인 없이 호출하며, 만료되었거나 올바르지 않은 "
                "토큰, 비밀번호 재설정이나 계정 중지 전에 받은 토큰은 `401 AUTHENTICATION_FAILED`입니다."))
class TokenRefreshApi(TokenRefreshView):
    """simplejwt's refresh, documented in the schema like every other operation; old token versions are refused."""

    serializer_class = VersionedTokenRefreshSerializer
