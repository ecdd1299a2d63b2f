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

    @extend_schema(responses=VideoOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(VideoOutputSerializer(page, many=True).data)

    @extend_schema(request=VideoCreateInputSerializer, responses={201: VideoCreateOutputSerializer})
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

    @extend_schema(responses=VideoOutputSerializer)
    def get(self, request, pk):
        return Response(VideoOutputSerializer(self.get_object()).data)

    @extend_schema(responses={204: None})
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

    @extend_schema(request=VideoUploadPartsInputSerializer, responses=inline_serializer("VideoUploadPartsOutput", {
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

    @extend_schema(request=None, responses=VideoOutputSerializer)
    def post(self, request, pk):
        return Response(VideoOutputSerializer(services.video_upload_abort(video=self.get_object())).data)


class VideoUploadCompleteApi(VideoScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = JobAcceptedOutputSerializer

    class VideoUploadedPartSerializer(serializers.Serializer):
        PartNumber = serializers.IntegerField(min_value=1, max_value=services.MAX_PARTS)  # S3 names
        ETag = serializers.CharField(max_length=200)

    @extend_schema(request=inline_serializer("VideoUploadCompleteInput", {
        "parts": VideoUploadedPartSerializer(many=True, required=False)}), responses={202: JobAcceptedOutputSerializer})
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

    @extend_schema(request=None, responses={202: JobAcceptedOutputSerializer})
    def post(self, request, pk):
        video = self.get_object()
        job = services.video_retry(video=video, created_by=request.user)
        return _accepted(video, job)


class VideoPlaybackApi(VideoScopedMixin, GenericAPIView):
    """Staff of the tenant, or a student enrolled (ACTIVE) in the video's lecture."""

    permission_classes = [IsTenantMember]
    serializer_class = VideoOutputSerializer

    @extend_schema(responses=inline_serializer("VideoPlaybackOutput", {
        "url": serializers.URLField(), "expires_at": serializers.DateTimeField()}))
    def get(self, request, pk):
        answer = playback.video_playback_start(video=self.get_object(), user=request.user)
        response = Response({"url": answer["url"],
                             "expires_at": serializers.DateTimeField().to_representation(answer["expires_at"])})
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
        response["Cache-Control"] = playback.playlist_cache_control(grant)
        # No cookie or header is involved (the token is in the URL), so any origin's player may read it.
        response["Access-Control-Allow-Origin"] = "*"
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

    @extend_schema(responses=inline_serializer("VideoBacklogOutput", {"backlog": serializers.IntegerField()}))
    def get(self, request):
        return Response({"backlog": selectors.video_transcode_backlog_count()})
