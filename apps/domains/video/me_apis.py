"""Watch progress over HTTP (issue 14): the student's and parent's `me/videos/` and heartbeats, and the staff
viewing report of a video. Routes: apps/domains/me/urls.py (me/…) and apps/domains/video/urls.py (viewers)."""

from __future__ import annotations

import math

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Coalesce
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.exceptions import ForbiddenError
from apps.core.fields import PG_BIGINT_MAX
from apps.core.models import Role
from apps.core.permissions import IsTenantStaff
from apps.core.tenancy import TenantScopedMixin
from apps.domains.me.subject import STUDENT_PARAM, IsStudentOrParent, me_subject
from apps.domains.video import progress, progress_rules, selectors
from apps.domains.video.models import VIDEO_BUCKET, Video

# Positions are clamped to the video's duration by the heartbeat; this only keeps absurd numbers out.
MAX_POSITION_SECONDS = 24 * 3600

STUDENT_QUERY = OpenApiParameter(
    STUDENT_PARAM, {"type": "integer", "minimum": 1, "maximum": PG_BIGINT_MAX}, required=False,
    description="학부모가 볼 자녀의 학생 id입니다. 자녀가 한 명이면 생략할 수 있습니다. 학생은 생략합니다.")


class ProgressOutputSerializer(serializers.Serializer):
    watched_seconds = serializers.FloatField(
        help_text="실제로 재생한 구간의 합(초). 같은 구간을 다시 보아도 한 번만 셉니다.")
    percent = serializers.FloatField(allow_null=True, help_text="영상 길이 대비 시청 비율(0~100)")
    completed = serializers.BooleanField(help_text="90% 이상 시청했는지")
    completed_at = serializers.DateTimeField(allow_null=True)
    last_position = serializers.FloatField(allow_null=True, help_text="마지막으로 받은 재생 위치(초). 이어 보기 위치")
    last_watched_at = serializers.DateTimeField(allow_null=True)


def progress_body(*, watched_tenths, last_position, last_watched_at, completed_at, duration) -> dict:
    watched_tenths = watched_tenths or 0
    return {"watched_seconds": watched_tenths / progress_rules.TENTHS,
            "percent": progress_rules.percent(watched_tenths, duration) if duration else None,
            "completed": completed_at is not None, "completed_at": completed_at,
            "last_position": last_position, "last_watched_at": last_watched_at}


def _annotated_progress(row, duration) -> dict:
    return progress_body(watched_tenths=row.p_watched_tenths, last_position=row.p_last_position,
                         last_watched_at=row.p_last_watched_at, completed_at=row.p_completed_at, duration=duration)


class MeVideoOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    lecture_id = serializers.IntegerField()
    lecture_title = serializers.CharField()
    session_id = serializers.IntegerField(allow_null=True)
    session_title = serializers.CharField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)
    thumbnail_url = serializers.CharField(allow_null=True,
                                          help_text="서명된 썸네일 주소(재생 주소와 같은 시간 동안 유효)")
    progress = ProgressOutputSerializer()


def thumbnail_url(video: Video) -> str | None:
    if not video.thumbnail_key:
        return None
    from apps.integrations.storage import get_storage

    return get_storage().presign_get(VIDEO_BUCKET, video.thumbnail_key,
                                     expires=settings.VIDEO_PLAYBACK_URL_EXPIRES_SECONDS)


class MeVideoListApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsStudentOrParent]
    serializer_class = MeVideoOutputSerializer
    filter_backends: list = []

    def get_tenant_queryset(self, tenant):
        if tenant is None:  # the schema generator
            return Video.objects.none()
        return selectors.video_list_for_student(tenant=tenant, student_id=self.subject.student.id)

    @extend_schema(
        tags=["내 정보"], summary="내 영상 목록",
        description="수강 중인(ACTIVE) 강의의 재생 가능한 영상을 최신순으로 쪽 단위로 돌려주며, 영상마다 길이, 썸네일 "
                    "주소, 시청 진도(본 시간, 비율, 완료 여부, 마지막 위치)를 담습니다. 보관된 강의의 영상은 빠집니다. "
                    "학생은 자기 것을, 학부모는 `student`로 고른 자녀의 것을 봅니다(남의 자녀 id는 `404`). 직원은 "
                    "`403 ME_STUDENTS_AND_PARENTS_ONLY`입니다.",
        parameters=[STUDENT_QUERY], responses=MeVideoOutputSerializer(many=True))
    def get(self, request):
        self.subject = me_subject(request)
        page = self.paginate_queryset(self.get_queryset())
        rows = [{"id": video.id, "title": video.title, "lecture_id": video.lecture_id,
                 "lecture_title": video.lecture.title, "session_id": video.session_id,
                 "session_title": (video.session.title or f"{video.session.order}회차") if video.session else None,
                 "duration_seconds": video.duration_seconds, "thumbnail_url": thumbnail_url(video),
                 "progress": _annotated_progress(video, video.duration_seconds)} for video in page]
        return self.get_paginated_response(MeVideoOutputSerializer(rows, many=True).data)


class HeartbeatInputSerializer(serializers.Serializer):
    playback_id = serializers.UUIDField(help_text="플레이어를 열 때마다(기기·탭마다) 새로 만드는 무작위 UUID")
    seq = serializers.IntegerField(min_value=0, max_value=PG_BIGINT_MAX,
                                   help_text="같은 playback_id 안에서 보낼 때마다 1씩 늘리는 번호")
    position = serializers.FloatField(min_value=0, max_value=MAX_POSITION_SECONDS, help_text="현재 재생 위치(초)")
    playing = serializers.BooleanField(default=True, help_text="이 신호 뒤에도 재생 중인지(일시정지·종료 때 false)")

    def validate_position(self, value):
        if not math.isfinite(value):
            raise serializers.ValidationError("유한한 숫자여야 합니다.")
        return value


class MeVideoProgressApi(APIView):
    permission_classes = [IsStudentOrParent]

    @extend_schema(
        tags=["내 정보"], summary="시청 진도 신호 보내기",
        description="플레이어가 재생 중 약 10초마다, 그리고 일시정지·탐색·종료 때 현재 위치를 보냅니다. 같은 "
                    "`playback_id`에서 `seq`가 늘어난 신호만 반영하며 같은 `seq`를 다시 보내거나 늦게 도착한 신호는 "
                    "아무것도 바꾸지 않고 현재 진도를 돌려줍니다. 직전 신호 이후 실제 시간의 2배 속도 이내로 나아간 "
                    "구간만 본 것으로 세며, 앞으로 건너뛴 구간은 세지 않습니다. 여러 기기에서 본 구간은 합집합으로 "
                    "셉니다. 학생 본인만 보낼 수 있습니다(학부모는 `403 ME_PROGRESS_STUDENT_ONLY`, 직원은 "
                    "`403 ME_STUDENTS_AND_PARENTS_ONLY`). 수강 중이 아니거나 재생할 수 없는 영상은 "
                    "`404 VIDEO_NOT_FOUND`입니다.",
        request=HeartbeatInputSerializer, responses={200: ProgressOutputSerializer})
    def post(self, request, pk):
        if request.user.role == Role.PARENT:
            raise ForbiddenError("ME_PROGRESS_STUDENT_ONLY", "시청 진도는 학생 본인의 재생만 기록합니다.")
        subject = me_subject(request)
        serializer = HeartbeatInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        state = progress.video_progress_record(
            tenant_id=request.user.tenant_id, student_id=subject.student.id, video_id=pk,
            playback_id=data["playback_id"], seq=data["seq"], position=data["position"], playing=data["playing"])
        body = progress_body(watched_tenths=state.watched_tenths, last_position=state.last_position,
                             last_watched_at=state.last_watched_at, completed_at=state.completed_at,
                             duration=state.duration)
        response = Response(ProgressOutputSerializer(body).data, status=status.HTTP_200_OK)
        response["Cache-Control"] = "no-store"
        return response


class ViewerOutputSerializer(serializers.Serializer):
    student_id = serializers.IntegerField()
    student_name = serializers.CharField()
    progress = ProgressOutputSerializer()


VIEWER_ORDERINGS = {
    "name": ("name", "id"), "-name": ("-name", "-id"),
    "percent": ("watched", "name", "id"), "-percent": ("-watched", "name", "id"),
    "last_watched_at": (F("p_last_watched_at").asc(nulls_first=True), "name", "id"),
    "-last_watched_at": (F("p_last_watched_at").desc(nulls_last=True), "name", "id"),
}


class VideoViewersApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = ViewerOutputSerializer
    filter_backends: list = []

    class ViewersQuerySerializer(serializers.Serializer):
        ordering = serializers.ChoiceField(choices=list(VIEWER_ORDERINGS), default="name")

    def get_tenant_queryset(self, tenant):
        from apps.domains.video.selectors import video_list

        return video_list(tenant=tenant)

    @extend_schema(
        tags=["영상"], summary="영상 시청 현황",
        description="영상이 속한 강의를 수강 중인(ACTIVE) 학생마다 시청 비율, 본 시간, 마지막 시청 시각, 완료 여부"
                    "(90% 이상)를 쪽 단위로 돌려줍니다. 보지 않은 학생도 0%로 나옵니다. `ordering`은 `name`(기본), "
                    "`percent`, `last_watched_at`과 그 역순(`-`)입니다. 다른 학원의 영상은 `404`입니다. 원장, 관리자, "
                    "강사, 직원이 호출할 수 있습니다.",
        parameters=[OpenApiParameter("ordering", str, enum=list(VIEWER_ORDERINGS), required=False)],
        responses=ViewerOutputSerializer(many=True))
    def get(self, request, pk):
        query = self.ViewersQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        video = self.get_object()
        rows = (selectors.video_viewers(video=video).annotate(watched=Coalesce("p_watched_tenths", 0))
                .order_by(*VIEWER_ORDERINGS[query.validated_data["ordering"]]))
        page = self.paginate_queryset(rows)
        body = [{"student_id": student.id, "student_name": student.name,
                 "progress": _annotated_progress(student, video.duration_seconds)} for student in page]
        return self.get_paginated_response(ViewerOutputSerializer(body, many=True).data)
