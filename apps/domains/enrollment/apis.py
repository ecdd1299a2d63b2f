"""Enrollment and attendance HTTP API (ARCHITECTURE §6 domains/enrollment)."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.fields import PG_INT_MAX, IdField
from apps.core.pagination import DefaultPagination
from apps.core.permissions import IsTenantStaff, StaffWriteAdminDelete
from apps.core.tenancy import TenantScopedMixin
from apps.domains.enrollment import selectors, services
from apps.domains.enrollment.filters import EnrollmentFilter
from apps.domains.enrollment.models import Attendance, AttendanceStatus, Enrollment, EnrollmentStatus
from apps.domains.lectures.apis import ClockTimeField
from apps.domains.lectures.models import Session


class EnrollmentOutputSerializer(serializers.ModelSerializer):
    student_name = serializers.CharField(source="student.name", read_only=True)
    lecture_title = serializers.CharField(source="lecture.title", read_only=True)

    class Meta:
        model = Enrollment
        fields = ["id", "lecture_id", "lecture_title", "student_id", "student_name", "status", "enrolled_at"]


class AttendanceOutputSerializer(serializers.ModelSerializer):
    student_id = serializers.IntegerField(source="enrollment.student_id", read_only=True)
    student_name = serializers.CharField(source="enrollment.student.name", read_only=True)

    class Meta:
        model = Attendance
        fields = ["id", "session_id", "enrollment_id", "student_id", "student_name", "status", "memo", "updated_at"]


class EnrollmentListCreateApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [StaffWriteAdminDelete]
    serializer_class = EnrollmentOutputSerializer
    filterset_class = EnrollmentFilter
    search_fields = ["student__name", "lecture__title", "student__phone", "student__parent_phone"]
    phone_search_fields = ["student__phone", "student__parent_phone"]
    ordering_fields = ["id", "enrolled_at", "status"]

    class InputSerializer(serializers.Serializer):
        lecture_id = IdField()
        student_id = IdField()
        status = serializers.ChoiceField(choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)

    def get_tenant_queryset(self, tenant):
        return selectors.enrollment_list(tenant=tenant)

    @extend_schema(
        tags=["수강"], summary="수강 목록",
        description="수강 등록을 학생 이름, 강의 제목과 함께 쪽 단위로 돌려줍니다. 강의, 학생, 상태로 거르고 "
                    "`search`로 학생 이름과 강의 제목을 찾습니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        responses=EnrollmentOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(EnrollmentOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=["수강"], summary="수강 등록",
        description="학생을 강의에 등록합니다. 없는 강의나 학생은 `404 LECTURE_NOT_FOUND` / `STUDENT_NOT_FOUND`, "
                    "이미 등록된 학생은 `409 ENROLLMENT_EXISTS`입니다. 원장, 관리자, 강사, 직원이 호출할 수 "
                    "있습니다.",
        request=InputSerializer, responses={201: EnrollmentOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        enrollment = services.enrollment_create(tenant=self.tenant, **serializer.validated_data)
        return Response(EnrollmentOutputSerializer(enrollment).data, status=status.HTTP_201_CREATED)


class EnrollmentDetailApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [StaffWriteAdminDelete]
    serializer_class = EnrollmentOutputSerializer

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=EnrollmentStatus.choices)

    def get_tenant_queryset(self, tenant):
        return selectors.enrollment_list(tenant=tenant)

    @extend_schema(
        tags=["수강"], summary="수강 조회",
        description="수강 등록 하나를 돌려줍니다. 다른 학원의 id는 `404`입니다. 원장, 관리자, 강사, 직원이 호출할 "
                    "수 있습니다.",
        responses=EnrollmentOutputSerializer)
    def get(self, request, pk):
        return Response(EnrollmentOutputSerializer(self.get_object()).data)

    @extend_schema(
        tags=["수강"], summary="수강 상태 변경",
        description="수강 상태(`ACTIVE` 수강중, `PAUSED` 휴강, `DROPPED` 수강취소, `COMPLETED` 수료)를 바꿉니다. "
                    "원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        request=InputSerializer, responses=EnrollmentOutputSerializer)
    def patch(self, request, pk):
        enrollment = self.get_object()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        enrollment = services.enrollment_update_status(enrollment=enrollment, **serializer.validated_data)
        return Response(EnrollmentOutputSerializer(enrollment).data)

    @extend_schema(
        tags=["수강"], summary="수강 삭제",
        description="수강 등록을 그 출결 기록과 함께 삭제합니다. 기록을 남기려면 삭제 대신 상태를 `DROPPED`로 "
                    "바꿉니다. 원장과 관리자만 호출할 수 있습니다.",
        responses={204: None})
    def delete(self, request, pk):
        services.enrollment_delete(enrollment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttendanceItemSerializer(serializers.Serializer):
    enrollment_id = IdField()
    status = serializers.ChoiceField(choices=AttendanceStatus.choices)
    memo = serializers.CharField(max_length=200, required=False, allow_blank=True)


class SessionAttendanceApi(TenantScopedMixin, GenericAPIView):
    """A session's attendance: list it, or set many students' statuses in one call."""

    permission_classes = [IsTenantStaff]
    serializer_class = AttendanceOutputSerializer
    pagination_class = None

    def get_session(self) -> Session:
        # The lecture comes along: attendance_bulk_update refuses an archived lecture's session.
        return get_object_or_404(Session.objects.for_tenant(self.tenant).select_related("lecture"),
                                 pk=self.kwargs["pk"])

    def get_tenant_queryset(self, tenant):
        return selectors.attendance_list(tenant=tenant).filter(session_id=self.kwargs.get("pk"))

    @extend_schema(
        tags=["출결"], summary="회차 출결 조회",
        description="회차의 출결을 학생 이름과 함께 돌려줍니다. 없는 회차나 다른 학원의 회차는 `404`입니다. 원장, "
                    "관리자, 강사, 직원이 호출할 수 있습니다.",
        responses=AttendanceOutputSerializer(many=True))
    def get(self, request, pk):
        self.get_session()
        return Response(AttendanceOutputSerializer(self.get_queryset(), many=True).data)

    @extend_schema(
        tags=["출결"], summary="회차 출결 한꺼번에 입력",
        description="여러 학생의 출결을 한 번에 저장하며, 모두 저장되거나 하나도 저장되지 않습니다. 이 강의의 수강 "
                    "등록이 아닌 `enrollment_id`는 `404 ENROLLMENT_NOT_FOUND`, 같은 id가 두 번 있으면 "
                    "`400 DUPLICATE_ENROLLMENT_ID`입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        request=AttendanceItemSerializer(many=True), responses=AttendanceOutputSerializer(many=True))
    def post(self, request, pk):
        session = self.get_session()
        serializer = AttendanceItemSerializer(data=request.data, many=True, allow_empty=False)
        serializer.is_valid(raise_exception=True)
        rows = services.attendance_bulk_update(session=session, items=serializer.validated_data)
        return Response(AttendanceOutputSerializer(rows, many=True).data)


# ---------------------------------------------------------------------------------------------------- staff views
# The roll sheet and a student's attendance history (issue 14): reads, UNMARKED where nobody marked
# (docs/decisions/0008); the rate as defined in docs/decisions/0024.

MARK_HELP = "출결: `UNMARKED`(미확인, 출결 기록이 없는 회차 포함), `PRESENT`, `LATE`, `ABSENT`, `EXCUSED`"


class AttendanceCountsSerializer(serializers.Serializer):
    UNMARKED = serializers.IntegerField()
    PRESENT = serializers.IntegerField()
    ABSENT = serializers.IntegerField()
    LATE = serializers.IntegerField()
    EXCUSED = serializers.IntegerField()


class RollSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    lecture_id = serializers.IntegerField()
    lecture_title = serializers.CharField(source="lecture.title")
    order = serializers.IntegerField()
    title = serializers.CharField()
    date = serializers.DateField(allow_null=True)
    start_time = ClockTimeField(allow_null=True)
    end_time = ClockTimeField(allow_null=True)


class RollEntrySerializer(serializers.Serializer):
    enrollment_id = serializers.IntegerField(source="id")
    student_id = serializers.IntegerField()
    student_name = serializers.CharField(source="student.name")
    status = serializers.ChoiceField(source="mark", choices=AttendanceStatus.choices, help_text=MARK_HELP)
    memo = serializers.CharField()
    marked_at = serializers.DateTimeField(allow_null=True, help_text="출결을 마지막으로 바꾼 시각, 기록이 없으면 null")


class RollSheetSerializer(serializers.Serializer):
    session = RollSessionSerializer()
    counts = AttendanceCountsSerializer()
    students = RollEntrySerializer(many=True)


class SessionRollApi(TenantScopedMixin, GenericAPIView):
    """GET /api/v1/sessions/<id>/roll/: every active enrollment of the session's lecture with its mark, in one call."""

    permission_classes = [IsTenantStaff]
    serializer_class = RollSheetSerializer
    pagination_class = None

    def get_tenant_queryset(self, tenant):
        return Session.objects.for_tenant(tenant).select_related("lecture")

    @extend_schema(
        tags=["출결"], summary="회차 출석부",
        description="회차 강의를 수강 중(`ACTIVE`)인 모든 학생을 이름순으로, 출결(기록이 없으면 `UNMARKED`)과 메모, "
                    "상태별 인원과 함께 한 번에 돌려줍니다. 보관된 강의의 회차도 읽을 수 있습니다. 없는 회차나 다른 "
                    "학원의 회차는 `404`입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        responses=RollSheetSerializer)
    def get(self, request, pk):
        session = self.get_object()
        roll = list(selectors.session_roll(session=session))
        counts = selectors.attendance_counts(entry.mark for entry in roll)
        return Response(RollSheetSerializer({"session": session, "counts": counts, "students": roll}).data)


class StudentAttendanceEntrySerializer(serializers.Serializer):
    session_id = serializers.IntegerField(source="id")
    lecture_id = serializers.IntegerField()
    lecture_title = serializers.CharField(source="lecture.title")
    order = serializers.IntegerField()
    title = serializers.CharField()
    date = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(source="mark", choices=AttendanceStatus.choices, help_text=MARK_HELP)


class StudentAttendanceHistorySerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    counts = AttendanceCountsSerializer(help_text="쪽과 상관없이 전체 기록의 상태별 회차 수")
    rate = serializers.FloatField(allow_null=True, help_text="출석률 0..1: (출석+지각) / (출석+지각+결석), 없으면 null")
    results = StudentAttendanceEntrySerializer(many=True)


class StudentAttendanceHistoryApi(TenantScopedMixin, GenericAPIView):
    """GET /api/v1/students/<id>/attendance/: a student's attendance across all their lectures, newest first."""

    permission_classes = [IsTenantStaff]
    serializer_class = StudentAttendanceEntrySerializer

    def get_tenant_queryset(self, tenant):
        from apps.domains.students.selectors import student_list

        return student_list(tenant=tenant)

    @extend_schema(
        tags=["출결"], summary="학생 출결 이력",
        description="학생이 수강했던 모든 강의(수강 취소, 보관된 강의 포함)의 회차를 최근 날짜부터 출결과 함께 쪽 "
                    "단위로 돌려줍니다. 날짜가 오늘 이후이거나 없는 회차는 출결이 입력된 뒤에만 나옵니다. `counts`와 "
                    "`rate`(출석률: (출석+지각) / (출석+지각+결석), 공결과 미확인 제외)는 전체 기록에 대한 값입니다. "
                    "없는 학생이나 다른 학원의 학생은 `404`입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        parameters=[
            OpenApiParameter("page", {"type": "integer", "minimum": 1, "maximum": PG_INT_MAX},
                             description="쪽 번호 (1부터)"),
            OpenApiParameter("page_size", {"type": "integer", "minimum": 1, "maximum": DefaultPagination.max_page_size},
                             description="쪽 크기 (기본 50)"),
        ],
        responses=StudentAttendanceHistorySerializer)
    def get(self, request, pk):
        student = self.get_object()
        history = selectors.student_attendance_history(student=student, today=timezone.localdate())
        page = self.paginate_queryset(history)
        response = self.get_paginated_response(StudentAttendanceEntrySerializer(page, many=True).data)
        response.data.update(selectors.attendance_summary(history))
        return response
