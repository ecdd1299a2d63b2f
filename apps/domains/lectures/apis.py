"""Lecture and session HTTP API (ARCHITECTURE §6 domains/lectures)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.permissions import StaffWriteAdminDelete
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
                  "session_count", "active_enrollment_count", "created_at"]

    def get_teacher_name(self, lecture) -> str | None:
        teacher = lecture.teacher
        return (teacher.get_full_name() or teacher.username) if teacher else None


class LectureInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    subject = serializers.CharField(max_length=100, required=False, allow_blank=True)
    teacher_id = serializers.IntegerField(required=False, allow_null=True)
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)


class SessionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Session
        fields = ["id", "lecture_id", "order", "title", "date"]


class SessionInputSerializer(serializers.Serializer):
    order = serializers.IntegerField(min_value=1, required=False)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    date = serializers.DateField(required=False, allow_null=True)


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
        tags=["강의"], summary="강의 삭제",
        description="강의를 그 회차, 수강, 출결 기록과 함께 삭제합니다. 원장과 관리자만 호출할 수 있습니다.",
        responses={204: None})
    def delete(self, request, pk):
        services.lecture_delete(lecture=self.get_object())
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
                    "`409 SESSION_ORDER_TAKEN`입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
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
        description="회차의 번호, 제목, 날짜 가운데 보낸 것만 바꿉니다. 이미 있는 번호는 "
                    "`409 SESSION_ORDER_TAKEN`입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
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
