"""Lecture and session HTTP API (ARCHITECTURE §6 domains/lectures)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.fields import IdField, IntegerField
from apps.core.permissions import IsTenantAdmin, StaffWriteAdminDelete
from apps.core.tenancy import TenantScopedMixin
from apps.domains.lectures import selectors, services
from apps.domains.lectures.filters import LectureFilter
from apps.domains.lectures.models import Lecture, Session


class LectureOutputSerializer(serializers.ModelSerializer):
    teacher_name = serializers.SerializerMethodField()
    session_count = serializers.IntegerField(read_only=True, default=0)
    active_enrollment_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Lecture
        fields = ["id", "title", "subject", "teacher_id", "teacher_name", "start_date", "end_date",
                  "session_count", "active_enrollment_count", "created_at", "archived_at"]

    def get_teacher_name(self, lecture) -> str | None:
        teacher = lecture.teacher
        return (teacher.get_full_name() or teacher.username) if teacher else None


class LectureInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    subject = serializers.CharField(max_length=100, required=False, allow_blank=True)
    teacher_id = IdField(required=False, allow_null=True)
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)


@extend_schema_field({"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "18:30"})
class ClockTimeField(serializers.TimeField):
    """A class hour as "HH:MM" (the academy's local time), in and out: no seconds, no offset."""

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%H:%M")
        kwargs.setdefault("input_formats", ["%H:%M"])
        super().__init__(**kwargs)


class SessionOutputSerializer(serializers.ModelSerializer):
    start_time = ClockTimeField(allow_null=True, read_only=True)
    end_time = ClockTimeField(allow_null=True, read_only=True)

    class Meta:
        model = Session
        fields = ["id", "lecture_id", "order", "title", "date", "start_time", "end_time"]


# Far beyond any course, and far enough below the column's limit that the next order assigned after it fits.
MAX_SESSION_ORDER = 10_000


class SessionInputSerializer(serializers.Serializer):
    order = IntegerField(min_value=1, max_value=MAX_SESSION_ORDER, required=False)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    date = serializers.DateField(required=False, allow_null=True)
    start_time = ClockTimeField(required=False, allow_null=True, help_text="수업 시작 시각 (HH:MM)")
    end_time = ClockTimeField(required=False, allow_null=True,
                              help_text="수업 종료 시각 (HH:MM), 시작 시각보다 늦어야 합니다")


class LectureListCreateApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [StaffWriteAdminDelete]
    serializer_class = LectureOutputSerializer
    filterset_class = LectureFilter
    search_fields = ["title", "subject"]
    ordering_fields = ["id", "title", "start_date", "created_at"]

    def get_tenant_queryset(self, tenant):
        return selectors.lecture_list(tenant=tenant)

    @extend_schema(
        tags=["강의"], summary="강의 목록",
        description="강의를 회차 수, 수강 중인 학생 수와 함께 쪽 단위로 돌려줍니다. 제목, 과목, 강사로 거르고 "
                    "`search`로 제목과 과목을 찾습니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        responses=LectureOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(LectureOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=["강의"], summary="강의 등록",
        description="강의를 만듭니다. 이 학원의 강사가 아닌 `teacher_id`는 `404 TEACHER_NOT_FOUND`, 종료일이 "
                    "시작일보다 빠르면 `400 INVALID_DATE_RANGE`입니다. 원장, 관리자, 강사, 직원이 호출할 수 "
                    "있습니다.",
        request=LectureInputSerializer, responses={201: LectureOutputSerializer})
    def post(self, request):
        serializer = LectureInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lecture = services.lecture_create(tenant=self.tenant, **serializer.validated_data)
        return Response(LectureOutputSerializer(lecture).data, status=status.HTTP_201_CREATED)


class LectureDetailApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [StaffWriteAdminDelete]
    serializer_class = LectureOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.lecture_list(tenant=tenant)

    @extend_schema(
        tags=["강의"], summary="강의 조회",
        description="강의 하나를 돌려줍니다. 다른 학원의 id는 `404`입니다. 원장, 관리자, 강사, 직원이 호출할 수 "
                    "있습니다.",
        responses=LectureOutputSerializer)
    def get(self, request, pk):
        return Response(LectureOutputSerializer(self.get_object()).data)

    def _update(self, request, partial: bool):
        lecture = self.get_object()
        serializer = LectureInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        lecture = services.lecture_update(lecture=lecture, data=serializer.validated_data)
        return Response(LectureOutputSerializer(lecture).data)

    @extend_schema(
        tags=["강의"], summary="강의 수정",
        description="강의 정보를 통째로 바꿉니다(`title` 필수). 없는 강사는 `404 TEACHER_NOT_FOUND`, 종료일이 "
                    "시작일보다 빠르면 `400 INVALID_DATE_RANGE`입니다. 원장, 관리자, 강사, 직원이 호출할 수 "
                    "있습니다.",
        request=LectureInputSerializer, responses=LectureOutputSerializer)
    def put(self, request, pk):
        return self._update(request, partial=False)

    @extend_schema(
        tags=["강의"], summary="강의 일부 수정",
        description="보낸 필드만 바꿉니다. 오류는 강의 수정과 같습니다(`404 TEACHER_NOT_FOUND`, "
                    "`400 INVALID_DATE_RANGE`). 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        request=LectureInputSerializer(partial=True), responses=LectureOutputSerializer)
    def patch(self, request, pk):
        return self._update(request, partial=True)

    @extend_schema(
        tags=["강의"], summary="강의 보관 (삭제)",
        description="강의를 보관합니다: 목록에서 숨겨지고(`?archived=true`로 조회) 회차, 수강, 출결, 영상 기록은 "
                    "그대로 남으며 `restore`로 되돌릴 수 있습니다. 보관된 강의에 쓰기는 `409 LECTURE_ARCHIVED`"
                    "입니다. 원장과 관리자만 호출할 수 있습니다.",
        responses={204: None})
    def delete(self, request, pk):
        # Archives: the records stay and POST .../restore/ brings it back (docs/decisions/0005).
        services.lecture_archive(lecture=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class LectureRestoreApi(TenantScopedMixin, GenericAPIView):
    """POST /api/v1/lectures/<id>/restore/: an archived lecture comes back; a live one is answered unchanged."""

    permission_classes = [IsTenantAdmin]
    serializer_class = LectureOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.lecture_list(tenant=tenant)

    @extend_schema(
        tags=["강의"], summary="보관된 강의 되살리기",
        description="보관된 강의를 기록과 함께 다시 목록에 올립니다. 보관되지 않은 강의는 그대로 `200`입니다. "
                    "원장과 관리자만 호출할 수 있습니다.",
        request=None, responses={200: LectureOutputSerializer, 404: OpenApiResponse(description="LECTURE_NOT_FOUND")})
    def post(self, request, pk):
        services.lecture_restore(lecture=self.get_object())
        return Response(LectureOutputSerializer(self.get_object()).data)


class LecturePurgeApi(TenantScopedMixin, GenericAPIView):
    """POST /api/v1/lectures/<id>/purge/: an archived lecture without history is deleted for good."""

    permission_classes = [IsTenantAdmin]
    serializer_class = LectureOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.lecture_list(tenant=tenant)

    @extend_schema(
        tags=["강의"], summary="보관된 강의 영구 삭제",
        description="수강, 출결, 영상 기록이 하나도 없는 보관된 강의를 영구히 지웁니다. 보관되지 않은 강의는 "
                    "`409 LECTURE_NOT_ARCHIVED`, 기록이 남은 강의는 `409 LECTURE_HAS_HISTORY`(details에 남은 "
                    "기록 수)입니다. 원장과 관리자만 호출할 수 있습니다.",
        request=None, responses={
        204: None, 404: OpenApiResponse(description="LECTURE_NOT_FOUND"),
        409: OpenApiResponse(description="LECTURE_NOT_ARCHIVED, 또는 LECTURE_HAS_HISTORY (details: 남은 기록 수)")})
    def post(self, request, pk):
        services.lecture_purge(lecture=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class LectureSessionListCreateApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [StaffWriteAdminDelete]
    serializer_class = SessionOutputSerializer
    ordering_fields = ["order", "date", "id"]

    def get_lecture(self) -> Lecture:
        return get_object_or_404(Lecture.objects.for_tenant(self.tenant), pk=self.kwargs["lecture_id"])

    def get_tenant_queryset(self, tenant):
        return selectors.session_list(tenant=tenant).filter(lecture_id=self.kwargs.get("lecture_id"))

    @extend_schema(
        tags=["강의"], summary="회차 목록",
        description="강의의 회차를 쪽 단위로 돌려줍니다. 없는 강의나 다른 학원의 강의는 `404`입니다. 원장, 관리자, "
                    "강사, 직원이 호출할 수 있습니다.",
        responses=SessionOutputSerializer(many=True))
    def get(self, request, lecture_id):
        self.get_lecture()
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SessionOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=["강의"], summary="회차 추가",
        description="강의에 회차를 추가합니다. `order`를 비우면 마지막 회차의 다음 번호가 되고, 이미 있는 번호는 "
                    "`409 SESSION_ORDER_TAKEN`입니다. 수업 시각(`start_time`, `end_time`)은 선택이며, 종료 시각이 "
                    "시작 시각보다 늦지 않으면 `400 INVALID_TIME_RANGE`입니다. 원장, 관리자, 강사, 직원이 호출할 "
                    "수 있습니다.",
        request=SessionInputSerializer, responses={201: SessionOutputSerializer})
    def post(self, request, lecture_id):
        lecture = self.get_lecture()
        serializer = SessionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_create(lecture=lecture, **serializer.validated_data)
        return Response(SessionOutputSerializer(session).data, status=status.HTTP_201_CREATED)


class SessionDetailApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [StaffWriteAdminDelete]
    serializer_class = SessionOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.session_list(tenant=tenant)

    @extend_schema(
        tags=["강의"], summary="회차 조회",
        description="회차 하나를 돌려줍니다. 다른 학원의 id는 `404`입니다. 원장, 관리자, 강사, 직원이 호출할 수 "
                    "있습니다.",
        responses=SessionOutputSerializer)
    def get(self, request, pk):
        return Response(SessionOutputSerializer(self.get_object()).data)

    @extend_schema(
        tags=["강의"], summary="회차 수정",
        description="회차의 번호, 제목, 날짜, 수업 시각 가운데 보낸 것만 바꿉니다. 이미 있는 번호는 "
                    "`409 SESSION_ORDER_TAKEN`, 바꾼 뒤의 종료 시각이 시작 시각보다 늦지 않으면 "
                    "`400 INVALID_TIME_RANGE`입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        request=SessionInputSerializer, responses=SessionOutputSerializer)
    def patch(self, request, pk):
        session = self.get_object()
        serializer = SessionInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        session = services.session_update(session=session, data=serializer.validated_data)
        return Response(SessionOutputSerializer(session).data)

    @extend_schema(
        tags=["강의"], summary="회차 삭제",
        description="회차를 그 출결 기록과 함께 삭제합니다. 원장과 관리자만 호출할 수 있습니다.",
        responses={204: None})
    def delete(self, request, pk):
        services.session_delete(session=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
