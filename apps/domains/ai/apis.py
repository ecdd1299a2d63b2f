"""AI HTTP API (ARCHITECTURE §4 AI): an OCR request becomes a job, answered 202; the result is polled at
GET /api/v1/jobs/<job_id>/ (apps/jobs)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.permissions import IsTenantStaff
from apps.core.tenancy import TenantScopedMixin
from apps.jobs.models import JobState

from .services import ocr_submit


class AiErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField()


class AiJobAcceptedSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=JobState.choices)


class OcrInputSerializer(serializers.Serializer):
    # Empty files reach the image check, whose message says what to send.
    image = serializers.FileField(
        allow_empty_file=True,
        help_text="인쇄된 문제나 글이 찍힌 JPEG 또는 PNG 이미지. 형식은 파일 내용으로 판단합니다.",
    )


class OcrSubmitApi(TenantScopedMixin, APIView):
    """POST /api/v1/ai/ocr/: read the text of an image (a job on the AI fleet's lite tier)."""

    permission_classes = [IsTenantStaff]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=["인공지능"], summary="이미지 글자 인식(OCR)",
        description="이미지의 한국어·영어 글자를 읽는 작업을 만들고 `202`와 `job_id`를 돌려줍니다. "
                    "`GET /api/v1/jobs/{job_id}/`의 `result`에 `text`(읽은 글자)와 `confidence`(0~100, 단어별 "
                    "신뢰도의 평균)가 담깁니다. 올린 이미지는 작업이 끝나면 지웁니다. 이미지가 아니거나 읽을 수 없으면 "
                    "`400 AI_IMAGE_INVALID`, 해상도가 너무 크면 `400 AI_IMAGE_TOO_MANY_PIXELS`, 파일이 너무 크면 "
                    "`413 AI_IMAGE_TOO_LARGE`, 서버에 글자 인식 프로그램이 없으면 `503 OCR_UNAVAILABLE`입니다. "
                    "학원 직원만 호출할 수 있습니다.",
        request={"multipart/form-data": OcrInputSerializer},
        responses={
            202: AiJobAcceptedSerializer,
            400: OpenApiResponse(AiErrorSerializer,
                                 description="AI_IMAGE_INVALID / AI_IMAGE_TOO_MANY_PIXELS / 입력 오류"),
            413: OpenApiResponse(AiErrorSerializer, description="AI_IMAGE_TOO_LARGE"),
            503: OpenApiResponse(AiErrorSerializer, description="OCR_UNAVAILABLE, AI_STORAGE_UNAVAILABLE, 또는 "
                                                                "AI_ENQUEUE_FAILED (details.job_id: 작업은 대기 중이며 "
                                                                "자동으로 다시 보내집니다)"),
        })
    def post(self, request):
        serializer = OcrInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = ocr_submit(tenant=self.tenant, created_by=request.user, upload=serializer.validated_data["image"])
        return Response({"job_id": str(job.id), "status": job.state}, status=status.HTTP_202_ACCEPTED)
