"""Signed HLS playback (ARCHITECTURE §4 Video, docs/video.md §3): tokens, and playlists rewritten per viewer.

The master and variant playlists are served by the API under a signed token in the path (players cannot send an
Authorization header); every variant URI becomes the next signed playlist URL and every segment URI a short-lived
presigned GET of the segment. HLS keys are predictable, so access always comes from a signature.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.urls import reverse

from apps.core.exceptions import ConflictError, DomainError, ForbiddenError, NotFoundError
from apps.core.models import Role

from .media import MASTER_PLAYLIST
from .models import VIDEO_BUCKET, Video, VideoState
from .selectors import video_can_watch, video_resume_position

SIGNING_SALT = "apps.domains.video.playback"
CONTENT_TYPE = "application/vnd.apple.mpegurl"
# Playlists of a READY video never change (READY is final), so their text is cached; the signatures never are.
PLAYLIST_CACHE_SECONDS = 3600
MAX_PLAYLIST_CACHE_CONTROL = 300
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_PLAYLIST_NAME = re.compile(r"^[A-Za-z0-9_-]+\.m3u8$")
_SEGMENT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')


@dataclass(frozen=True)
class PlaybackGrant:
    video_id: int
    user_id: int
    expires_at: int  # unix seconds

    @property
    def remaining(self) -> int:
        return self.expires_at - int(time.time())


class PlaylistError(DomainError):
    """A stored playlist names something other than our own relative files: never served."""

    status_code = 502
    default_code = "VIDEO_PLAYLIST_INVALID"
    default_message = "재생 목록을 읽을 수 없습니다."


def playback_token_make(*, video_id: int, user_id: int, expires_in: int) -> tuple[str, int]:
    expires_at = int(time.time()) + int(expires_in)
    return signing.dumps({"v": video_id, "u": user_id, "e": expires_at}, salt=SIGNING_SALT), expires_at


def playback_token_read(token: str, *, video_id: int) -> PlaybackGrant:
    try:
        payload = signing.loads(token, salt=SIGNING_SALT)
    except signing.BadSignature:
        raise ForbiddenError("PLAYBACK_TOKEN_INVALID", "재생 주소가 올바르지 않습니다.")
    if not isinstance(payload, dict) or payload.get("v") != video_id:
        raise ForbiddenError("PLAYBACK_TOKEN_INVALID", "재생 주소가 올바르지 않습니다.")
    grant = PlaybackGrant(video_id=payload["v"], user_id=payload.get("u"), expires_at=int(payload.get("e", 0)))
    if grant.remaining <= 0:
        raise ForbiddenError("PLAYBACK_TOKEN_EXPIRED", "재생 시간이 만료되었습니다. 영상을 다시 열어 주세요.")
    return grant


def master_playlist_url(*, video_id: int, token: str) -> str:
    path = reverse("video-hls-master", kwargs={"video_id": video_id, "token": token})
    return settings.API_BASE_URL.rstrip("/") + path


def variant_playlist_url(*, video_id: int, token: str, rendition: str, playlist: str) -> str:
    path = reverse("video-hls-variant",
                   kwargs={"video_id": video_id, "token": token, "rendition": rendition, "playlist": playlist})
    return settings.API_BASE_URL.rstrip("/") + path


def video_playback_start(*, video: Video, user) -> dict:
    """{"url", "expires_at", "resume_position"} of the signed master playlist; 403 for a student not enrolled, 409 if
    not READY. `resume_position` is the student's own (selectors.video_resume_position), None for staff."""
    if not video_can_watch(video=video, user=user):
        raise ForbiddenError("VIDEO_NOT_ENROLLED", "수강 중인 강의의 영상만 볼 수 있습니다.")
    if video.state != VideoState.READY:
        raise ConflictError("VIDEO_NOT_READY", "영상이 아직 재생할 수 있는 상태가 아닙니다.",
                            details={"state": video.state})
    token, expires_at = playback_token_make(video_id=video.id, user_id=user.id,
                                            expires_in=settings.VIDEO_PLAYBACK_URL_EXPIRES_SECONDS)
    student = getattr(user, "student", None) if user.role == Role.STUDENT else None
    resume = video_resume_position(video=video, student_id=student.id) if student is not None else None
    return {"url": master_playlist_url(video_id=video.id, token=token),
            "expires_at": datetime.fromtimestamp(expires_at, tz=UTC), "resume_position": resume}


def playback_authorize(*, token: str, video_id: int) -> tuple[Video, PlaybackGrant]:
    """The token's video, READY, still watchable by the token's user (a dropped enrollment ends playback)."""
    from apps.core.models import User

    grant = playback_token_read(token, video_id=video_id)
    video = Video.objects.filter(id=video_id, state=VideoState.READY).first()
    user = User.objects.filter(id=grant.user_id, is_active=True, tenant__is_active=True).first()
    if video is None or user is None or not video_can_watch(video=video, user=user):
        raise ForbiddenError("PLAYBACK_NOT_ALLOWED", "이 영상을 재생할 수 없습니다.")
    return video, grant


def playlist_cache_control(grant: PlaybackGrant) -> str:
    """Private, and never cached past half the token's remaining life (the segment URLs inside expire with it)."""
    return f"private, max-age={max(0, min(MAX_PLAYLIST_CACHE_CONTROL, grant.remaining // 2))}"


def _read_playlist(key: str) -> str:
    from apps.integrations.storage import ObjectNotFound, StorageError, get_storage

    cache_key = f"video:playlist:{key}"
    text = cache.get(cache_key)
    if text is not None:
        return text
    try:
        with tempfile.NamedTemporaryFile(prefix="playlist-", suffix=".m3u8") as handle:
            get_storage().get_to_file(VIDEO_BUCKET, key, handle.name)
            text = Path(handle.name).read_text(encoding="utf-8")
    except ObjectNotFound:
        raise NotFoundError("VIDEO_PLAYLIST_NOT_FOUND", "재생 목록을 찾을 수 없습니다.")
    except StorageError:
        raise DomainError("VIDEO_STORAGE_UNAVAILABLE", "영상 저장소에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
                          status_code=503)
    cache.set(cache_key, text, PLAYLIST_CACHE_SECONDS)
    return text


def _rewrite(text: str, resolve) -> str:
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            lines.append(_URI_ATTRIBUTE.sub(lambda match: f'URI="{resolve(match.group(1))}"', stripped))
        else:
            lines.append(resolve(stripped))
    return "\n".join(lines) + "\n"


def playlist_render_master(*, video: Video, token: str) -> str:
    """The stored master with every variant URI ("v0/index.m3u8") turned into its signed API URL."""

    def resolve(uri: str) -> str:
        rendition, _, playlist = uri.partition("/")
        if not _NAME.match(rendition) or not _PLAYLIST_NAME.match(playlist):
            raise PlaylistError(details={"uri": uri[:200]})
        return variant_playlist_url(video_id=video.id, token=token, rendition=rendition, playlist=playlist)

    return _rewrite(_read_playlist(video.hls_prefix + MASTER_PLAYLIST), resolve)


def playlist_render_variant(*, video: Video, rendition: str, playlist: str, grant: PlaybackGrant) -> str:
    """The stored variant with every segment URI turned into a presigned GET expiring with the token."""
    from apps.integrations.storage import get_storage

    if not _NAME.match(rendition) or not _PLAYLIST_NAME.match(playlist):
        raise ForbiddenError("PLAYBACK_NOT_ALLOWED", "이 영상을 재생할 수 없습니다.")
    storage = get_storage()
    directory = f"{video.hls_prefix}{rendition}/"
    expires = max(60, grant.remaining)

    def resolve(uri: str) -> str:
        if not _SEGMENT_NAME.match(uri) or uri.startswith("."):
            raise PlaylistError(details={"uri": uri[:200]})
        return storage.presign_get(VIDEO_BUCKET, directory + uri, expires=expires)

    return _rewrite(_read_playlist(directory + playlist), resolve)
