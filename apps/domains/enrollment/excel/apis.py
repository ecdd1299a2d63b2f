"""Excel HTTP API (ARCHITECTURE §4 Excel enrollment and export): uploads and exports become jobs, answered 202.

The job is then polled at GET /api/v1/enrollments/excel_job_status/<job_id>/ (apps/jobs), same body as /jobs/<id>/.
"""

import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.fields import IdField
from apps.core.passwords import PASSWORD_MAX_LENGTH, password_check
from apps.core.permissions import IsTenantAdmin, IsTenantStaff
from apps.core.tenancy import TenantScopedMixin
from apps.domains.enrollment.models import EnrollmentStatus
from apps.integrations.storage import content_disposition
from apps.jobs.models import Job, JobState

from .services import XLSX_CONTENT_TYPE, excel_export_submit, excel_import_submit
from .template import build_enrollment_template

TEMPLATE_FILENAME = "학생_명단_양식.xlsx"


class ExcelErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField()


class ExcelJobAcceptedSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=JobState.choices)


def _accepted(job: Job) -> Response:
    return Response({"job_id": str(job.id), "status": job.state}, status=status.HTTP_202_ACCEPTED)


_IMPORT_RESPONSES = {
    202: ExcelJobAcceptedSerializer,
    400: OpenApiResponse(ExcelErrorSerializer, description="파일 검사 실패 (EXCEL_* 코드), 정책에 맞지 않는 "
                                                      "initial_password (PASSWORD_TOO_WEAK) 또는 입력 오류"),
    404: OpenApiResponse(ExcelErrorSerializer, description="LECTURE_NOT_FOUND / SESSION_NOT_FOUND"),
    409: OpenApiResponse(ExcelErrorSerializer, description="LECTURE_ARCHIVED"),
    413: OpenApiResponse(ExcelErrorSerializer, description="EXCEL_TOO_LARGE"),
    503: OpenApiResponse(ExcelErrorSerializer, description="EXCEL_STORAGE_UNAVAILABLE, 또는 EXCEL_ENQUEUE_FAILED "
                                                      "(details.job_id: 작업은 대기 중이며 자동으로 다시 보내집니다)"),
}


class ExcelUploadInputSerializer(serializers.Serializer):
    # Empty files reach the validator, whose message says what to do.
    file = serializers.FileField(
        allow_empty_file=True,
        help_text="학생 명단: 엑셀(.xlsx, .xls), ODS(.ods) 또는 CSV(UTF-8, CP949). 형식은 파일 내용으로 판단합니다.",
    )
    initial_password = serializers.CharField(
        required=False, allow_blank=True, max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False, write_only=True,
        help_text="새로 만드는 학생 계정의 첫 비밀번호(없으면 계정을 만들지 않음). 비밀번호 정책(8자 이상, 흔한 "
                  "비밀번호·숫자만 불가)에 맞지 않으면 `400 PASSWORD_TOO_WEAK`이며 아무것도 저장하지 않습니다.")

    def validate_initial_password(self, value):
        if value:
            password_check(value)  # PASSWORD_TOO_WEAK before the upload is stored or a job exists
        return value
    dry_run = serializers.BooleanField(required=False, default=False)


class LectureEnrollFromExcelApi(TenantScopedMixin, APIView):
    """POST /api/v1/enrollments/lecture_enroll_from_excel/: enroll a roster into a lecture (as a job)."""

    permission_classes = [IsTenantAdmin]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(ExcelUploadInputSerializer):
        lecture_id = IdField()
        session_id = IdField(required=False, allow_null=True)

        class Meta:
            ref_name = "LectureEnrollFromExcelInput"

    @extend_schema(
        tags=["엑셀"], summary="엑셀 명단으로 수강 등록",
        description="명단의 학생을 찾거나 만들어 강의에 등록하는 작업을 만들고 `202`와 `job_id`를 "
                    "돌려줍니다(`dry_run`이면 검사만). 파일 검사 실패는 `400 EXCEL_*`, 없는 강의나 회차는 `404`, "
                    "너무 큰 파일은 `413 EXCEL_TOO_LARGE`입니다. 원장과 관리자만 호출할 수 있습니다.",
        request={"multipart/form-data": InputSerializer}, responses=_IMPORT_RESPONSES)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = excel_import_submit(
            tenant=self.tenant, created_by=request.user, upload=data["file"], lecture_id=data["lecture_id"],
            session_id=data.get("session_id"), initial_password=data.get("initial_password") or None,
            dry_run=data["dry_run"],
        )
        return _accepted(job)


class StudentImportFromExcelApi(TenantScopedMixin, APIView):
    """POST /api/v1/students/import_from_excel/: create or restore the roster's students, no lecture (as a job)."""

    permission_classes = [IsTenantAdmin]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=["엑셀"], summary="엑셀 명단으로 학생 등록",
        description="명단의 학생을 만들거나 삭제된 학생을 되살리는 작업을 만들고 `202`와 `job_id`를 "
                    "돌려줍니다(`dry_run`이면 검사만). 파일 검사 실패는 `400 EXCEL_*`, 너무 큰 파일은 "
                    "`413 EXCEL_TOO_LARGE`입니다. 원장과 관리자만 호출할 수 있습니다.",
        request={"multipart/form-data": ExcelUploadInputSerializer},
        responses={code: answer for code, answer in _IMPORT_RESPONSES.items() if code not in (404, 409)})
    def post(self, request):
        serializer = ExcelUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = excel_import_submit(
            tenant=self.tenant, created_by=request.user, upload=data["file"],
            initial_password=data.get("initial_password") or None, dry_run=data["dry_run"],
        )
        return _accepted(job)


class XlsxRenderer(BaseRenderer):
    """Lets a client that accepts only xlsx negotiate the download (errors still carry the JSON error body)."""

    media_type = XLSX_CONTENT_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return json.dumps(data, ensure_ascii=False).encode()


class ExcelTemplateApi(TenantScopedMixin, APIView):
    """GET /api/v1/enrollments/excel_template/: the roster template, the same for every tenant's staff."""

    permission_classes = [IsTenantStaff]
    renderer_classes = [JSONRenderer, XlsxRenderer]

    @extend_schema(
        tags=["엑셀"], summary="명단 양식 내려받기",
        description="학생 명단 엑셀 양식(xlsx)을 내려받습니다. 모든 학원에 같은 양식입니다. 원장, 관리자, 강사, "
                    "직원이 호출할 수 있습니다.",
        responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY})
    def get(self, request):
        response = HttpResponse(build_enrollment_template(), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition(TEMPLATE_FILENAME)
        response["Cache-Control"] = "private, max-age=3600"
        return response


class EnrollmentExportApi(TenantScopedMixin, APIView):
    """POST /api/v1/enrollments/export/: a lecture's roster as an xlsx, written by a job.

    The DONE job's result carries `download_url` (fresh on every poll, valid `expires_in` seconds).
    """

    permission_classes = [IsTenantStaff]

    class InputSerializer(serializers.Serializer):
        lecture_id = IdField()
        statuses = serializers.ListField(child=serializers.ChoiceField(choices=EnrollmentStatus.choices),
                                         required=False, allow_empty=True, max_length=len(EnrollmentStatus.choices))
        filename = serializers.CharField(required=False, allow_blank=True, max_length=100)

        class Meta:
            ref_name = "EnrollmentExportInput"

    @extend_schema(
        tags=["엑셀"], summary="수강 명단 내보내기",
        description="강의의 수강 명단을 xlsx로 쓰는 작업을 만들고 `202`와 `job_id`를 돌려줍니다. 끝난(`DONE`) "
                    "작업의 `result.download_url`로 내려받으며, 없는 강의는 `404 LECTURE_NOT_FOUND`입니다. 원장, "
                    "관리자, 강사, 직원이 호출할 수 있습니다.",
        request=InputSerializer, responses={
            202: ExcelJobAcceptedSerializer,
            400: OpenApiResponse(ExcelErrorSerializer, description="VALIDATION_ERROR"),
            404: OpenApiResponse(ExcelErrorSerializer, description="LECTURE_NOT_FOUND"),
            503: OpenApiResponse(ExcelErrorSerializer, description="EXCEL_ENQUEUE_FAILED (details.job_id)"),
        })
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = excel_export_submit(tenant=self.tenant, created_by=request.user, lecture_id=data["lecture_id"],
                                  statuses=data.get("statuses"), filename=data.get("filename"))
        return _accepted(job)
