"""Exam HTTP API (ARCHITECTURE §4 AI, exams): exams with their key and points, the OMR sheet and its geometry."""

from decimal import Decimal

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from apps.core.fields import IdField, IntegerField
from apps.core.permissions import IsTenantAdmin, IsTenantStaff
from apps.core.tenancy import TenantScopedMixin
from apps.domains.exams import selectors, services
from apps.domains.exams.filters import ExamFilter
from apps.domains.exams.models import CHOICE_COUNTS, MAX_QUESTIONS, Exam, IdentifierSource, StudentResultDisplay
from apps.domains.exams.rules import MAX_POINTS_PER_QUESTION
from apps.integrations.storage import content_disposition

PDF_CONTENT_TYPE = "application/pdf"
ROLES_STAFF = "원장, 관리자, 강사, 직원이 호출할 수 있습니다."

_CHOICE = {"type": "integer", "minimum": 1, "maximum": max(CHOICE_COUNTS)}
ANSWER_KEY_SCHEMA = {
    "type": "array", "maxItems": MAX_QUESTIONS,
    "items": {"oneOf": [_CHOICE, {"type": "array", "items": _CHOICE, "minItems": 1, "maxItems": max(CHOICE_COUNTS)}],
              "nullable": True},
    "description": "문항 순서대로 정답: 번호(1~보기 수), 복수 정답이면 번호의 목록, 무효 문항(전원 정답)이면 null. "
                   "빈 목록은 아직 입력하지 않음입니다.",
}
_POINT = {"type": "number", "minimum": 0, "maximum": float(MAX_POINTS_PER_QUESTION)}
POINTS_SCHEMA = {
    "oneOf": [_POINT, {"type": "array", "items": _POINT, "minItems": 1, "maxItems": MAX_QUESTIONS}],
    "description": "모든 문항에 같은 배점(숫자 하나) 또는 문항별 배점의 목록. 소수점 둘째 자리까지(예: 3.3).",
}


@extend_schema_field(ANSWER_KEY_SCHEMA)
class AnswerKeyField(serializers.JSONField):
    """Any JSON here: apps.domains.exams.rules checks it and answers with its own codes."""


@extend_schema_field(POINTS_SCHEMA)
class PointsField(serializers.JSONField):
    def to_representation(self, value):
        if isinstance(value, list):
            return [float(Decimal(item)) for item in value]
        return float(Decimal(value))


class ExamOutputSerializer(serializers.ModelSerializer):
    lecture_title = serializers.CharField(source="lecture.title", read_only=True)
    answer_key = AnswerKeyField()
    points = PointsField()
    max_score = serializers.SerializerMethodField()

    class Meta:
        model = Exam
        fields = ["id", "lecture_id", "lecture_title", "session_id", "title", "date", "question_count",
                  "choice_count", "answer_key", "points", "max_score", "state", "opened_at", "published_at",
                  "published_revision",
                  "revision", "created_at", "updated_at"]

    def get_max_score(self, exam) -> float:
        return float(exam.max_score)


class ExamInputSerializer(serializers.Serializer):
    lecture_id = IdField()
    session_id = IdField(required=False, allow_null=True)
    title = serializers.CharField(max_length=200)
    date = serializers.DateField()
    question_count = IntegerField(min_value=1, max_value=MAX_QUESTIONS)
    choice_count = IntegerField(min_value=min(CHOICE_COUNTS), max_value=max(CHOICE_COUNTS), required=False)
    answer_key = AnswerKeyField(required=False)
    points = PointsField(required=False)


class ExamListCreateApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = ExamOutputSerializer
    filterset_class = ExamFilter
    search_fields = ["title"]
    ordering_fields = ["id", "date", "title", "created_at"]

    def get_tenant_queryset(self, tenant):
        return selectors.exam_list(tenant=tenant)

    @extend_schema(
        tags=["시험"], summary="시험 목록",
        description="시험을 최근 날짜부터 쪽 단위로 돌려줍니다. 강의, 회차, 상태, 날짜 범위로 거르고 `search`로 "
                    f"제목을 찾습니다. {ROLES_STAFF}",
        responses=ExamOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ExamOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=["시험"], summary="시험 만들기",
        description="작성 중(DRAFT) 시험을 만듭니다. 정답(`answer_key`)은 나중에 넣어도 되지만, 넣으면 문항 수만큼"
                    "이어야 합니다(`400 ANSWER_KEY_LENGTH_MISMATCH`); 보기 범위를 벗어난 정답은 "
                    "`400 ANSWER_KEY_INVALID_CHOICE`, 배점 목록의 길이가 다르면 `400 POINTS_LENGTH_MISMATCH`, "
                    "음수 배점은 `400 POINTS_NEGATIVE`, 그 밖의 잘못된 배점은 `400 POINTS_INVALID`입니다. 없는 "
                    "강의는 `404 LECTURE_NOT_FOUND`, 보관된 강의는 `409 LECTURE_ARCHIVED`, 다른 강의의 회차는 "
                    f"`400 SESSION_NOT_IN_LECTURE`입니다. 배점을 생략하면 문항당 1점입니다. {ROLES_STAFF}",
        request=ExamInputSerializer, responses={201: ExamOutputSerializer})
    def post(self, request):
        serializer = ExamInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        exam = services.exam_create(tenant=self.tenant, created_by=request.user, **serializer.validated_data)
        return Response(ExamOutputSerializer(exam).data, status=status.HTTP_201_CREATED)


class ExamDetailApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = ExamOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.exam_list(tenant=tenant)

    @extend_schema(tags=["시험"], summary="시험 조회",
                   description=f"시험 하나를 정답, 배점, 만점과 함께 돌려줍니다. 다른 학원의 id는 `404`입니다. "
                               f"{ROLES_STAFF}",
                   responses=ExamOutputSerializer)
    def get(self, request, pk):
        return Response(ExamOutputSerializer(self.get_object()).data)

    @extend_schema(
        tags=["시험"], summary="시험 수정",
        description="보낸 필드만 바꿉니다. 검증 오류는 시험 만들기와 같습니다. 답안 접수를 시작한 시험은 강의, 문항 "
                    "수, 보기 수를 바꿀 수 없고(`409 EXAM_STRUCTURE_LOCKED`) 정답을 비울 수 없으며"
                    "(`409 ANSWER_KEY_INCOMPLETE`), 정답이나 배점을 바꾸면 `revision`이 올라가 모든 답안지가 다시 "
                    f"채점됩니다. {ROLES_STAFF}",
        request=ExamInputSerializer(partial=True), responses=ExamOutputSerializer)
    def patch(self, request, pk):
        exam = self.get_object()
        serializer = ExamInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        exam = services.exam_update(exam=exam, data=serializer.validated_data)
        return Response(ExamOutputSerializer(exam).data)

    @extend_schema(
        tags=["시험"], summary="시험 삭제",
        description="작성 중(DRAFT)인 시험만 지웁니다. 답안 접수를 시작했거나 결과를 공개한 시험은 "
                    f"`409 EXAM_NOT_DRAFT`입니다. {ROLES_STAFF}",
        responses={204: None, 409: OpenApiResponse(description="EXAM_NOT_DRAFT")})
    def delete(self, request, pk):
        services.exam_delete(exam=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExamOpenApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = ExamOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.exam_list(tenant=tenant)

    @extend_schema(
        tags=["시험"], summary="답안 접수 시작",
        description="작성 중(DRAFT) 시험을 답안 접수 중(OPEN)으로 바꿉니다. 이때부터 답안지 스캔을 받습니다. 모든 "
                    "문항의 정답이 있어야 하고(무효 문항은 null) 아니면 `409 ANSWER_KEY_INCOMPLETE`, 이미 결과를 "
                    "공개한 시험은 `409 EXAM_NOT_DRAFT`입니다. 이미 접수 중이면 그대로 `200`입니다. "
                    f"{ROLES_STAFF}",
        request=None, responses={200: ExamOutputSerializer,
                                 409: OpenApiResponse(description="ANSWER_KEY_INCOMPLETE, EXAM_NOT_DRAFT")})
    def post(self, request, pk):
        exam = services.exam_open(exam=self.get_object())
        return Response(ExamOutputSerializer(exam).data)


class PdfRenderer(BaseRenderer):
    """Lets a client that accepts only PDF negotiate the sheet; errors still carry the JSON error body."""

    media_type = PDF_CONTENT_TYPE
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


class ExamSheetPdfApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    renderer_classes = [JSONRenderer, PdfRenderer]
    serializer_class = ExamOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.exam_list(tenant=tenant)

    @extend_schema(
        tags=["시험"], summary="OMR 답안지 PDF 내려받기",
        description="인쇄용 A4 OMR 답안지(PDF)를 내려받습니다: 네 모서리의 표식, 시험 제목, 8자리 식별 번호 칸"
                    "(학원 설정에 따라 학부모 전화번호 뒤 8자리, 학생 전화번호 뒤 8자리 또는 학원 학생 번호), 문항별 "
                    "보기. 글꼴은 PDF에 포함되어 어느 컴퓨터에서나 같게 인쇄됩니다. 어느 상태의 시험이든 내려받을 "
                    f"수 있습니다. {ROLES_STAFF}",
        responses={(200, PDF_CONTENT_TYPE): OpenApiTypes.BINARY})
    def get(self, request, pk):
        exam = self.get_object()
        response = HttpResponse(selectors.exam_sheet_pdf(exam=exam), content_type=PDF_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition(selectors.exam_sheet_filename(exam=exam))
        response["Cache-Control"] = "private, no-cache"
        return response


class LayoutTextSerializer(serializers.Serializer):
    left = serializers.FloatField()
    baseline = serializers.FloatField()
    size = serializers.FloatField(required=False)


class LayoutRectSerializer(serializers.Serializer):
    left = serializers.FloatField()
    top = serializers.FloatField()
    width = serializers.FloatField()
    height = serializers.FloatField()


class LayoutPageSerializer(serializers.Serializer):
    width = serializers.FloatField()
    height = serializers.FloatField()


class LayoutMarkerSerializer(serializers.Serializer):
    x = serializers.FloatField(help_text="정사각형 표식의 중심 x (pt, 왼쪽 위 기준)")
    y = serializers.FloatField(help_text="정사각형 표식의 중심 y (pt, 위에서 아래로)")
    size = serializers.FloatField(help_text="한 변의 길이 (pt)")


class LayoutDigitSerializer(serializers.Serializer):
    digit = serializers.IntegerField(min_value=0, max_value=9)
    x = serializers.FloatField(help_text="동그라미 중심 x (pt)")
    y = serializers.FloatField(help_text="동그라미 중심 y (pt)")
    r = serializers.FloatField(help_text="반지름 (pt)")


class LayoutChoiceSerializer(serializers.Serializer):
    choice = serializers.IntegerField(min_value=1, max_value=max(CHOICE_COUNTS))
    x = serializers.FloatField()
    y = serializers.FloatField()
    r = serializers.FloatField()


class LayoutQuestionSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, max_value=MAX_QUESTIONS)
    choices = LayoutChoiceSerializer(many=True)


class LayoutSerializer(serializers.Serializer):
    layout_version = serializers.IntegerField()
    question_count = serializers.IntegerField()
    choice_count = serializers.IntegerField()
    id_digits = serializers.IntegerField()
    page = LayoutPageSerializer()
    markers = LayoutMarkerSerializer(many=True, help_text="왼쪽 위, 오른쪽 위, 오른쪽 아래, 왼쪽 아래 순서")
    title = LayoutTextSerializer()
    subtitle = LayoutTextSerializer()
    identifier_label = LayoutTextSerializer()
    identifier_box = LayoutRectSerializer()
    write_in = LayoutRectSerializer(many=True)
    name_box = LayoutRectSerializer()
    identifier = serializers.ListField(child=LayoutDigitSerializer(many=True), help_text="자리(열)마다 0~9")
    questions = LayoutQuestionSerializer(many=True)


class ExamSheetLayoutApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = LayoutSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.exam_list(tenant=tenant)

    @extend_schema(
        tags=["시험"], summary="OMR 답안지 좌표",
        description="답안지 PDF의 도형 좌표를 JSON으로 돌려줍니다. 단위는 PDF 포인트(1/72인치), 원점은 A4 쪽의 왼쪽 "
                    "위이고 y는 아래로 커집니다. 표식(`markers`)의 x, y는 정사각형의 중심이고 `size`는 한 변, "
                    "동그라미의 x, y는 중심이고 `r`은 반지름입니다. 검토 화면은 이 좌표로 채점 결과를 겹쳐 "
                    f"그립니다. {ROLES_STAFF}",
        responses=LayoutSerializer)
    def get(self, request, pk):
        return Response(selectors.exam_sheet_layout(exam=self.get_object()))


class ExamSettingsSerializer(serializers.Serializer):
    # Both optional on PUT: a client that knows only one setting does not reset the other.
    identifier_source = serializers.ChoiceField(
        choices=IdentifierSource.choices, required=False,
        help_text="답안지의 8자리 식별 번호: 학부모 전화번호 뒤 8자리(기본), 학생 전화번호 뒤 8자리, 학원 학생 번호")
    student_result_display = serializers.ChoiceField(
        choices=StudentResultDisplay.choices, required=False,
        help_text="학생과 학부모가 보는 시험 결과: 점수와 석차(`RANK`), 점수와 백분위(`PERCENTILE`, 기본), "
                  "점수만(`SCORE_ONLY`)")


class StaffReadAdminWrite(IsTenantStaff):
    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or IsTenantAdmin().has_permission(request, view)


class ExamSettingsApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [StaffReadAdminWrite]
    serializer_class = ExamSettingsSerializer

    @extend_schema(tags=["시험"], summary="시험 설정 조회",
                   description="학원의 시험 설정(답안지 식별 번호로 무엇을 쓰는지, 학생과 학부모에게 결과를 어떻게 "
                               f"보여 주는지)을 돌려줍니다. {ROLES_STAFF}",
                   responses=ExamSettingsSerializer)
    def get(self, request):
        return Response(ExamSettingsSerializer(selectors.exam_settings_get(tenant=self.tenant)).data)

    @extend_schema(
        tags=["시험"], summary="시험 설정 변경",
        description="답안지 식별 번호로 학부모 전화번호 뒤 8자리(`PARENT_PHONE`, 기본), 학생 전화번호 뒤 8자리"
                    "(`STUDENT_PHONE`), 학원이 정한 8자리 학생 번호(`STUDENT_NUMBER`) 가운데 하나를 고릅니다. "
                    "형제가 한 강의에서 같은 학부모 전화번호를 쓰면 그 답안지는 검토로 갑니다. "
                    "`student_result_display`는 학생과 학부모가 `/api/v1/me/exams/`에서 점수와 함께 보는 것: 석차"
                    "(`RANK`), 백분위(`PERCENTILE`, 기본), 점수만(`SCORE_ONLY`)입니다. 보낸 필드만 바뀝니다. "
                    "원장과 관리자만 호출할 수 있습니다.",
        request=ExamSettingsSerializer, responses=ExamSettingsSerializer)
    def put(self, request):
        serializer = ExamSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = services.exam_settings_update(tenant=self.tenant, **serializer.validated_data)
        return Response(ExamSettingsSerializer(row).data)
