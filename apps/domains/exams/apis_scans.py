"""Exam scans HTTP API (ARCHITECTURE §4 AI, exams): upload filled OMR sheets → 202 and an `omr_grading` job; list the
exam's uploads with their sheets counted per status."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from apps.core.fields import IdField, IntegerField
from apps.core.permissions import IsTenantStaff
from apps.core.tenancy import TenantScopedMixin
from apps.domains.exams import scans, selectors
from apps.domains.exams.models import ScanState

ROLES_STAFF = "원장, 관리자, 강사, 직원이 호출할 수 있습니다."


class ScanErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField()


class ScanUploadSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), min_length=1,
        help_text="채점할 답안지: JPEG, PNG, HEIC(아이폰 사진) 이미지나 여러 쪽 PDF. 여러 개를 올릴 수 있고 "
                  "올린 순서대로 쪽 번호가 매겨집니다. 형식은 파일 내용으로 판단합니다.",
    )


class ScanAcceptedSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()
    scan_id = IdField()
    page_count = IntegerField(min_value=0, max_value=100_000)


class ScanOutputSerializer(serializers.Serializer):
    id = IdField()
    job_id = serializers.UUIDField(allow_null=True)
    state = serializers.ChoiceField(choices=ScanState.choices)
    file_count = IntegerField(min_value=0, max_value=100_000)
    page_count = IntegerField(min_value=0, max_value=100_000)
    graded_count = IntegerField(min_value=0, max_value=100_000)
    review_count = IntegerField(min_value=0, max_value=100_000)
    unreadable_count = IntegerField(min_value=0, max_value=100_000)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    purged_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, scan):
        return {
            "id": scan.id, "job_id": str(scan.job_id) if scan.job_id else None, "state": scan.state,
            "file_count": len(scan.files or []), "page_count": scan.page_count,
            "graded_count": scan.graded_count, "review_count": scan.review_count,
            "unreadable_count": scan.unreadable_count,
            "created_at": serializers.DateTimeField().to_representation(scan.created_at),
            "finished_at": serializers.DateTimeField().to_representation(scan.finished_at)
            if scan.finished_at else None,
            "purged_at": serializers.DateTimeField().to_representation(scan.purged_at) if scan.purged_at else None,
        }


class ExamScanListCreateApi(TenantScopedMixin, GenericAPIView):
    """GET/POST /api/v1/exams/<id>/scans/."""

    permission_classes = [IsTenantStaff]
    serializer_class = ScanOutputSerializer
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = None

    def get_tenant_queryset(self, tenant):
        return selectors.exam_list(tenant=tenant)

    @extend_schema(
        tags=["시험"], summary="답안지 올린 목록",
        description="시험에 올린 답안지 묶음을 최근 것부터 보여 줍니다. 묶음마다 상태(QUEUED 대기, GRADING 채점 중, "
                    "DONE 완료, FAILED 실패), 쪽 수, 채점 결과별 답안지 수(GRADED 채점 완료, REVIEW 검토 필요, "
                    "UNREADABLE 읽을 수 없음), 보관 기간이 지나 파일을 지운 시각(`purged_at`)이 담깁니다. "
                    f"다른 학원의 시험은 `404 EXAM_NOT_FOUND`입니다. {ROLES_STAFF}",
        responses={200: ScanOutputSerializer(many=True), 404: OpenApiResponse(ScanErrorSerializer)})
    def get(self, request, pk):
        exam = self.get_object()
        return Response([ScanOutputSerializer(scan).data for scan in scans.scan_list(exam=exam)])

    @extend_schema(
        tags=["시험"], summary="답안지 올리기(채점 시작)",
        description="작성한 답안지를 스캔하거나 사진으로 찍어 올리면 채점 작업을 만들고 `202`와 `job_id`, "
                    "`scan_id`, `page_count`를 돌려줍니다. 진행은 `GET /api/v1/jobs/{job_id}/`로 봅니다. "
                    "파일(`files`)은 JPEG, PNG, HEIC 이미지나 PDF이며 한 번에 올릴 수 있는 파일 수, 파일 하나와 "
                    "전체의 크기, 전체 쪽 수, 이미지(또는 PDF 쪽)의 해상도에 한도가 있습니다. "
                    "답안 접수 중(OPEN)인 시험이 아니면 `409 EXAM_NOT_OPEN`, 읽을 수 없는 파일은 "
                    "`400 SCAN_FILE_INVALID`, 파일이 너무 크면 `413 SCAN_FILE_TOO_LARGE`, 파일이 너무 많으면 "
                    "`400 SCAN_TOO_MANY_FILES`, 쪽이 너무 많으면 `400 SCAN_TOO_MANY_PAGES`, 해상도가 너무 크면 "
                    "`400 SCAN_TOO_MANY_PIXELS`입니다. 올린 파일과 정렬된 답안지 이미지는 보관 기간(기본 1년)이 "
                    f"지나면 지웁니다. 다른 학원의 시험은 `404 EXAM_NOT_FOUND`입니다. {ROLES_STAFF}",
        request={"multipart/form-data": ScanUploadSerializer},
        responses={
            202: ScanAcceptedSerializer,
            400: OpenApiResponse(ScanErrorSerializer, description="SCAN_FILE_INVALID / SCAN_TOO_MANY_FILES / "
                                                                  "SCAN_TOO_MANY_PAGES / SCAN_TOO_MANY_PIXELS"),
            404: OpenApiResponse(ScanErrorSerializer, description="EXAM_NOT_FOUND"),
            409: OpenApiResponse(ScanErrorSerializer, description="EXAM_NOT_OPEN"),
            413: OpenApiResponse(ScanErrorSerializer, description="SCAN_FILE_TOO_LARGE"),
            503: OpenApiResponse(ScanErrorSerializer, description="AI_STORAGE_UNAVAILABLE"),
        })
    def post(self, request, pk):
        exam = self.get_object()
        uploads = request.FILES.getlist("files") if hasattr(request, "FILES") else []
        scan, job = scans.scan_submit(tenant=self.tenant, exam=exam, created_by=request.user, uploads=uploads)
        return Response({"job_id": str(job.id), "scan_id": scan.id, "page_count": scan.page_count},
                        status=status.HTTP_202_ACCEPTED)
