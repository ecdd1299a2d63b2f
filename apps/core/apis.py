"""Health and auth endpoints."""

import logging

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.serializers import MeOutputSerializer
from apps.core.versioned_cache import redis_client

logger = logging.getLogger(__name__)


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

    @extend_schema(responses={200: HealthOutputSerializer, 503: HealthOutputSerializer}, auth=[])
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
    @extend_schema(responses=MeOutputSerializer)
    def get(self, request):
        return Response(MeOutputSerializer(request.user).data)
