"""Video HTTP API (ARCHITECTURE §4 Video): direct upload, upload_complete, retry, delete, signed HLS playback."""

import django_filters
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.fields import PG_BIGINT_MAX, IdField, IntegerField
from apps.core.filters import FilterSet, IdFilter
from apps.core.permissions import (
    HasLambdaInternalKey,
    IsTenantAdmin,
    IsTenantMember,
    IsTenantStaff,
    StaffWriteAdminDelete,
)
from apps.core.tenancy import TenantScopedMixin
from apps.domains.lectures.selectors import lecture_scope
from apps.domains.video import playback, selectors, services
from apps.domains.video.models import Video, VideoState


class VideoOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Video
        fields = ["id", "title", "lecture_id", "session_id", "filename", "size", "content_type", "state",
                  "duration_seconds", "width", "height", "renditions", "error_code", "error_message",
                  "current_job_id", "created_at", "updated_at"]


class UploadPartOutputSerializer(serializers.Serializer):
    part_number = serializers.IntegerField()
    url = serializers.URLField()


class UploadOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["single", "multipart"])
    method = serializers.CharField(default="PUT")
    expires_at = serializers.DateTimeField()
    url = serializers.CharField(allow_blank=True)
    headers = serializers.DictField(child=serializers.CharField())
    upload_id = serializers.CharField(allow_blank=True)
    part_size = serializers.IntegerField()
    part_count = serializers.IntegerField()
    parts = UploadPartOutputSerializer(many=True)


class VideoCreateOutputSerializer(serializers.Serializer):
    video = VideoOutputSerializer()
    upload = UploadOutputSerializer()


class JobAcceptedOutputSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()
    video_id = serializers.IntegerField()
    status = serializers.CharField()


def _accepted(video: Video, job) -> Response:
    return Response({"job_id": str(job.id), "video_id": video.id, "status": job.state},
                    status=status.HTTP_202_ACCEPTED)


class VideoFilter(FilterSet):
    lecture = IdFilter(field_name="lecture_id")
    state = django_filters.ChoiceFilter(choices=VideoState.choices)

    class Meta:
        model = Video
        fields = ["lecture", "state"]


class VideoScopedMixin(TenantScopedMixin):
    def get_tenant_queryset(self, tenant):
        return selectors.video_list(tenant=tenant)


class VideoListCreateApi(VideoScopedMixin, GenericAPIView):
    permission_classes = [StaffWriteAdminDelete]
    serializer_class = VideoOutputSerializer
    filterset_class = VideoFilter
    ordering_fields = ["id", "created_at", "title"]

    class VideoCreateInputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        lecture_id = IdField(required=False, allow_null=True)
        session_id = IdField(required=False, allow_null=True)
        filename = serializers.CharField(max_length=255)
        size = IntegerField(min_value=1, max_value=PG_BIGINT_MAX)
        content_type = serializers.CharField(max_length=100, allow_blank=True)

    @extend_schema(
        tags=["영상"], summary="영상 목록",
        description="삭제되지 않은 영상을 최신순으로 쪽 단위로 돌려주며 강의(`lecture`)와 상태(`state`)로 "
                    "거릅니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        responses=VideoOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(VideoOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=["영상"], summary="영상 업로드 시작",
        description="영상을 등록하고 브라우저가 파일을 저장소에 직접 올릴 주소(한 번의 PUT 또는 조각별 PUT)를 "
                    "돌려줍니다. 다 올린 뒤 `upload_complete`를 호출하며, 크기나 형식이 맞지 않으면 "
                    "`400 VIDEO_TOO_LARGE` / `VIDEO_INVALID_TYPE` 등입니다. 원장, 관리자, 강사, 직원이 호출할 수 "
                    "있습니다.",
        request=VideoCreateInputSerializer, responses={201: VideoCreateOutputSerializer})
    def post(self, request):
        serializer = self.VideoCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lecture, session = lecture_scope(tenant=self.tenant, lecture_id=data.get("lecture_id"),
                                         session_id=data.get("session_id"))
        video, upload = services.video_upload_start(
            tenant=self.tenant, created_by=request.user, title=data["title"], lecture=lecture, session=session,
            filename=data["filename"], size=data["size"], content_type=data["content_type"],
        )
        body = {"video": VideoOutputSerializer(video).data,
                "upload": UploadOutputSerializer({**upload.__dict__, "method": "PUT"}).data}
        return Response(body, status=status.HTTP_201_CREATED)


class VideoDetailApi(VideoScopedMixin, GenericAPIView):
    permission_classes = [StaffWriteAdminDelete]
    serializer_class = VideoOutputSerializer

    @extend_schema(
        tags=["영상"], summary="영상 조회",
        description="영상 하나를 상태, 길이, 화질 목록과 함께 돌려줍니다. 삭제된 영상과 다른 학원의 id는 "
                    "`404`입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        responses=VideoOutputSerializer)
    def get(self, request, pk):
        return Response(VideoOutputSerializer(self.get_object()).data)

    @extend_schema(
        tags=["영상"], summary="영상 삭제",
        description="진행 중인 변환을 취소하고 원본과 HLS 파일을 지운 뒤 영상을 삭제합니다. 저장소 오류는 "
                    "`503 VIDEO_STORAGE_UNAVAILABLE`이며 다시 삭제하면 됩니다. 원장과 관리자만 호출할 수 있습니다.",
        responses={204: None})
    def delete(self, request, pk):
        services.video_delete(video=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class VideoUploadPartsApi(VideoScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = VideoOutputSerializer

    class VideoUploadPartsInputSerializer(serializers.Serializer):
        part_numbers = serializers.ListField(child=IntegerField(min_value=1, max_value=services.MAX_PARTS),
                                             min_length=1,
                                             max_length=services.MAX_PARTS)

    @extend_schema(
        tags=["영상"], summary="업로드 조각 주소 다시 받기",
        description="분할 업로드 중인 영상의 지정한 조각에 새 업로드 주소를 줍니다. 분할 업로드가 아니면 "
                    "`409 VIDEO_UPLOAD_NOT_MULTIPART`, 범위 밖 번호는 `400 VIDEO_INVALID_PART_NUMBER`입니다. 원장, "
                    "관리자, 강사, 직원이 호출할 수 있습니다.",
        request=VideoUploadPartsInputSerializer, responses=inline_serializer("VideoUploadPartsOutput", {
            "parts": UploadPartOutputSerializer(many=True), "expires_at": serializers.DateTimeField()}))
    def post(self, request, pk):
        serializer = self.VideoUploadPartsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parts, expires_at = services.video_upload_sign_parts(video=self.get_object(),
                                                             part_numbers=serializer.validated_data["part_numbers"])
        return Response({"parts": UploadPartOutputSerializer(parts, many=True).data,
                         "expires_at": serializers.DateTimeField().to_representation(expires_at)})


class VideoUploadAbortApi(VideoScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = VideoOutputSerializer

    @extend_schema(
        tags=["영상"], summary="업로드 취소",
        description="진행 중인 업로드를 버리고 영상을 삭제합니다. 업로드 중이 아닌 영상은 "
                    "`409 VIDEO_UPLOAD_CLOSED`입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        request=None, responses=VideoOutputSerializer)
    def post(self, request, pk):
        return Response(VideoOutputSerializer(services.video_upload_abort(video=self.get_object())).data)


class VideoUploadCompleteApi(VideoScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = JobAcceptedOutputSerializer

    class VideoUploadedPartSerializer(serializers.Serializer):
        PartNumber = serializers.IntegerField(min_value=1, max_value=services.MAX_PARTS)  # S3 names
        ETag = serializers.CharField(max_length=200)

    @extend_schema(
        tags=["영상"], summary="업로드 완료와 변환 시작",
        description="올린 파일을 검사하고 변환 작업을 만들어 `202`와 `job_id`를 돌려주며, 다시 호출해도 같은 "
                    "작업입니다. 파일이 없거나 조각이 빠지면 `409 VIDEO_UPLOAD_INCOMPLETE`, 영상이 아니거나 크기가 "
                    "다르면 영상이 실패 상태가 되고 `400`입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        request=inline_serializer("VideoUploadCompleteInput", {
            "parts": VideoUploadedPartSerializer(many=True, required=False)}),
        responses={202: JobAcceptedOutputSerializer})
    def post(self, request, pk):
        video = self.get_object()
        parts = self.VideoUploadedPartSerializer(data=request.data.get("parts") or [], many=True)
        parts.is_valid(raise_exception=True)
        job = services.video_upload_complete(video=video, parts=[dict(p) for p in parts.validated_data],
                                             created_by=request.user)
        return _accepted(video, job)


class VideoRetryApi(VideoScopedMixin, GenericAPIView):
    permission_classes = [IsTenantAdmin]
    serializer_class = JobAcceptedOutputSerializer

    @extend_schema(
        tags=["영상"], summary="변환 다시 시도",
        description="실패한 영상의 변환 작업을 새로 만들어 `202`와 `job_id`를 돌려줍니다. 실패하지 않은 영상은 "
                    "`409 VIDEO_NOT_RETRYABLE`, 변환 중이면 `409 VIDEO_JOB_ACTIVE`입니다. 원장과 관리자만 호출할 "
                    "수 있습니다.",
        request=None, responses={202: JobAcceptedOutputSerializer})
    def post(self, request, pk):
        video = self.get_object()
        job = services.video_retry(video=video, created_by=request.user)
        return _accepted(video, job)


class VideoPlaybackApi(VideoScopedMixin, GenericAPIView):
    """Staff of the tenant, or a student enrolled (ACTIVE) in the video's lecture."""

    permission_classes = [IsTenantMember]
    serializer_class = VideoOutputSerializer

    @extend_schema(
        tags=["영상"], summary="재생 주소 받기",
        description="서명된 HLS 재생 주소와 만료 시각을 돌려줍니다. 학원 직원과 그 강의를 수강 중인 학생이 호출할 "
                    "수 있으며, 수강하지 않는 학생은 `403 VIDEO_NOT_ENROLLED`, 변환이 끝나지 않은 영상은 "
                    "`409 VIDEO_NOT_READY`입니다. 학생에게는 이어 볼 위치(`resume_position`, 초)를 함께 주며, 처음 "
                    "보거나 끝까지 본 영상과 직원에게는 `null`입니다.",
        responses=inline_serializer("VideoPlaybackOutput", {
            "url": serializers.URLField(), "expires_at": serializers.DateTimeField(),
            "resume_position": serializers.FloatField(allow_null=True)}))
    def get(self, request, pk):
        answer = playback.video_playback_start(video=self.get_object(), user=request.user)
        response = Response({"url": answer["url"],
                             "expires_at": serializers.DateTimeField().to_representation(answer["expires_at"]),
                             "resume_position": answer["resume_position"]})
        response["Cache-Control"] = "no-store"
        return response


class _AnyAccept(BaseContentNegotiation):
    """Players send whatever Accept header they like; playlists are text and errors JSON regardless."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _PlaylistApi(APIView):
    """The signed token in the path is the only credential: players cannot send an Authorization header."""

    authentication_classes = []
    permission_classes = [AllowAny]
    content_negotiation_class = _AnyAccept

    @staticmethod
    def playlist_response(text: str, grant: playback.PlaybackGrant) -> HttpResponse:
        response = HttpResponse(text, content_type=playback.CONTENT_TYPE)
        # Any origin's player may read it: apps/core/cors.py allows every origin on signed URLs, error answers too.
        response["Cache-Control"] = playback.playlist_cache_control(grant)
        return response


@extend_schema(exclude=True)
class VideoHlsMasterApi(_PlaylistApi):
    def get(self, request, video_id: int, token: str):
        video, grant = playback.playback_authorize(token=token, video_id=video_id)
        return self.playlist_response(playback.playlist_render_master(video=video, token=token), grant)


@extend_schema(exclude=True)
class VideoHlsVariantApi(_PlaylistApi):
    def get(self, request, video_id: int, token: str, rendition: str, playlist: str):
        video, grant = playback.playback_authorize(token=token, video_id=video_id)
        text = playback.playlist_render_variant(video=video, rendition=rendition, playlist=playlist, grant=grant)
        return self.playlist_response(text, grant)


class VideoBacklogCountApi(APIView):
    """For the scaling Lambda, by private IP with any Host header (InternalHostMiddleware pins it)."""

    authentication_classes = []
    permission_classes = [HasLambdaInternalKey]

    @extend_schema(
        tags=["내부"], summary="영상 변환 대기 수 (Lambda)",
        description="모든 학원의 대기 중이거나 실행 중인 영상 변환 수를 돌려줍니다. 규모를 조절하는 Lambda만 "
                    "`X-Internal-Key` 헤더로 호출하며, 없거나 틀리면 `403`입니다.",
        responses=inline_serializer("VideoBacklogOutput", {"backlog": serializers.IntegerField()}))
    def get(self, request):
        return Response({"backlog": selectors.video_transcode_backlog_count()})
