"""Lecture and session HTTP API (ARCHITECTURE §6 domains/lectures)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.fields import IdField, IntegerField
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
    teacher_id = IdField(required=False, allow_null=True)
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)


class SessionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Session
        fields = ["id", "lecture_id", "order", "title", "date"]


# Far beyond any course, and far enough below the column's limit that the next order assigned after it fits.
MAX_SESSION_ORDER = 10_000


class SessionInputSerializer(serializers.Serializer):
    order = IntegerField(min_value=1, max_value=MAX_SESSION_ORDER, required=False)
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

    @extend_schema(responses=LectureOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(LectureOutputSerializer(page, many=True).data)

    @extend_schema(request=LectureInputSerializer, responses={201: LectureOutputSerializer})
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

    @extend_schema(responses=LectureOutputSerializer)
    def get(self, request, pk):
        return Response(LectureOutputSerializer(self.get_object()).data)

    def _update(self, request, partial: bool):
        lecture = self.get_object()
        serializer = LectureInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        lecture = services.lecture_update(lecture=lecture, data=serializer.validated_data)
        return Response(LectureOutputSerializer(lecture).data)

    @extend_schema(request=LectureInputSerializer, responses=LectureOutputSerializer)
    def put(self, request, pk):
        return self._update(request, partial=False)

    @extend_schema(request=LectureInputSerializer(partial=True), responses=LectureOutputSerializer)
    def patch(self, request, pk):
        return self._update(request, partial=True)

    @extend_schema(responses={204: None})
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

    @extend_schema(responses=SessionOutputSerializer(many=True))
    def get(self, request, lecture_id):
        self.get_lecture()
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SessionOutputSerializer(page, many=True).data)

    @extend_schema(request=SessionInputSerializer, responses={201: SessionOutputSerializer})
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

    @extend_schema(responses=SessionOutputSerializer)
    def get(self, request, pk):
        return Response(SessionOutputSerializer(self.get_object()).data)

    @extend_schema(request=SessionInputSerializer, responses=SessionOutputSerializer)
    def patch(self, request, pk):
        session = self.get_object()
        serializer = SessionInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        session = services.session_update(session=session, data=serializer.validated_data)
        return Response(SessionOutputSerializer(session).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        services.session_delete(session=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
