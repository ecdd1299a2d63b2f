"""Enrollment and attendance HTTP API (ARCHITECTURE §6 domains/enrollment)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.fields import IdField
from apps.core.permissions import IsTenantStaff, StaffWriteAdminDelete
from apps.core.tenancy import TenantScopedMixin
from apps.domains.enrollment import selectors, services
from apps.domains.enrollment.filters import EnrollmentFilter
from apps.domains.enrollment.models import Attendance, AttendanceStatus, Enrollment, EnrollmentStatus
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
    search_fields = ["student__name", "lecture__title"]
    ordering_fields = ["id", "enrolled_at", "status"]

    class InputSerializer(serializers.Serializer):
        lecture_id = IdField()
        student_id = IdField()
        status = serializers.ChoiceField(choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)

    def get_tenant_queryset(self, tenant):
        return selectors.enrollment_list(tenant=tenant)

    @extend_schema(responses=EnrollmentOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(EnrollmentOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: EnrollmentOutputSerializer})
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

    @extend_schema(responses=EnrollmentOutputSerializer)
    def get(self, request, pk):
        return Response(EnrollmentOutputSerializer(self.get_object()).data)

    @extend_schema(request=InputSerializer, responses=EnrollmentOutputSerializer)
    def patch(self, request, pk):
        enrollment = self.get_object()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        enrollment = services.enrollment_update_status(enrollment=enrollment, **serializer.validated_data)
        return Response(EnrollmentOutputSerializer(enrollment).data)

    @extend_schema(responses={204: None})
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
        return get_object_or_404(Session.objects.for_tenant(self.tenant), pk=self.kwargs["pk"])

    def get_tenant_queryset(self, tenant):
        return selectors.attendance_list(tenant=tenant).filter(session_id=self.kwargs.get("pk"))

    @extend_schema(responses=AttendanceOutputSerializer(many=True))
    def get(self, request, pk):
        self.get_session()
        return Response(AttendanceOutputSerializer(self.get_queryset(), many=True).data)

    @extend_schema(request=AttendanceItemSerializer(many=True), responses=AttendanceOutputSerializer(many=True))
    def post(self, request, pk):
        session = self.get_session()
        serializer = AttendanceItemSerializer(data=request.data, many=True, allow_empty=False)
        serializer.is_valid(raise_exception=True)
        rows = services.attendance_bulk_update(session=session, items=serializer.validated_data)
        return Response(AttendanceOutputSerializer(rows, many=True).data)
