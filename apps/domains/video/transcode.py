"""The Batch entrypoint's middle step (ARCHITECTURE §4 Video): a local source file → an HLS ladder + thumbnail on disk.

Called between the download and the upload; knows nothing of jobs or storage.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import media

logger = logging.getLogger(__name__)

PLAYLIST_CACHE_CONTROL = "no-cache"
SEGMENT_CACHE_CONTROL = "public, max-age=31536000, immutable"
THUMBNAIL_CACHE_CONTROL = "public, max-age=86400"

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/mp4",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
}


@dataclass(frozen=True)
class TranscodeOptions:
    renditions: tuple[int, ...] = (1080, 720, 480, 360)
    segment_seconds: int = 6
    preset: str = "veryfast"
    max_fps: int = 30
    timeout_seconds: float = 14400
    probe_timeout_seconds: float = 60
    limits: media.ProbeLimits | None = None
    threads: int = 0
    progress_interval: float = 0.5  # seconds between progress checks (and stop/timeout checks)

    @classmethod
    def from_settings(cls) -> TranscodeOptions:
        from django.conf import settings

        return cls(
            renditions=tuple(settings.VIDEO_RENDITIONS),
            segment_seconds=settings.VIDEO_SEGMENT_SECONDS,
            preset=settings.VIDEO_X264_PRESET,
            max_fps=settings.VIDEO_MAX_FPS,
            timeout_seconds=settings.VIDEO_TRANSCODE_TIMEOUT_SECONDS,
            probe_timeout_seconds=settings.VIDEO_PROBE_TIMEOUT_SECONDS,
            limits=probe_limits_from_settings(),
        )


def probe_limits_from_settings() -> media.ProbeLimits:
    """The upload limits: `upload_complete`'s probe and the worker's probe check the same ones."""
    from django.conf import settings

    return media.ProbeLimits(max_duration_seconds=settings.VIDEO_MAX_DURATION_SECONDS,
                             max_dimension=settings.VIDEO_MAX_DIMENSION, max_bytes=settings.VIDEO_MAX_UPLOAD_BYTES)


@dataclass(frozen=True)
class OutputFile:
    path: Path  # absolute, on local disk
    relative_key: str  # under the video's hls prefix, e.g. "v0/seg_00000.ts"
    content_type: str
    cache_control: str
    size: int


@dataclass(frozen=True)
class TranscodeResult:
    source: media.ProbeResult
    rungs: list[media.Rung]
    renditions: list[dict]  # for Video.renditions: name, width, height, bandwidth, average_bandwidth, codecs, playlist
    files: list[OutputFile]  # upload order: segments, thumbnail, variant playlists, master playlist last
    thumbnail_key: str | None
    total_bytes: int

    @property
    def duration(self) -> float:
        return self.source.duration


def transcode_to_hls(
    source_path: str | os.PathLike,
    work_dir: str | os.PathLike,
    *,
    options: TranscodeOptions | None = None,
    on_progress: Callable[[int], None] | None = None,
    stop_event: threading.Event | None = None,
) -> TranscodeResult:
    """probe → free space → plan → one ffmpeg pass → master playlist → thumbnail. Raises media.MediaError."""
    options = options or TranscodeOptions.from_settings()
    started = time.monotonic()
    out_dir = Path(work_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    source = media.probe(str(source_path), timeout=options.probe_timeout_seconds, limits=options.limits)
    rungs = media.plan_ladder(source, options.renditions)
    media.check_free_space(out_dir, media.estimate_output_bytes(rungs, source.duration, has_audio=source.has_audio))

    cmd = media.build_ffmpeg_command(source_path, out_dir, rungs, probe=source, segment_seconds=options.segment_seconds,
                                     preset=options.preset, max_fps=options.max_fps, threads=options.threads)
    media.run_ffmpeg(cmd, duration=source.duration, on_progress=_capped(on_progress) if on_progress else None,
                     timeout=options.timeout_seconds, stop_event=stop_event, poll_interval=options.progress_interval)
    encoded = time.monotonic()

    frame_rate = float(media.output_frame_rate(source, options.max_fps))
    variants, segments_of = _finish_master_playlist(out_dir, rungs, options, frame_rate=frame_rate)
    thumbnail_key = _thumbnail(source_path, out_dir, source, timeout=min(120.0, options.timeout_seconds))
    files = _collect_files(out_dir, variants, segments_of, thumbnail_key)
    if on_progress is not None:
        on_progress(100)
    elapsed = time.monotonic() - started
    logger.info("video transcode finished", extra={
        "duration": source.duration, "rungs": [r.name for r in rungs], "encode_seconds": round(encoded - started, 2),
        "elapsed_seconds": round(elapsed, 2), "files": len(files)})
    renditions = [
        {"name": rung.name, "width": v.resolution[0], "height": v.resolution[1], "bandwidth": v.bandwidth,
         "average_bandwidth": v.average_bandwidth, "codecs": v.codecs, "playlist": v.playlist}
        for rung, v in zip(rungs, variants, strict=True)
    ]
    return TranscodeResult(
        source=source, rungs=rungs, renditions=renditions, files=files, thumbnail_key=thumbnail_key,
        total_bytes=sum(f.size for f in files),
    )


def _capped(on_progress: Callable[[int], None]) -> Callable[[int], None]:
    """ffmpeg's 100 is held back: the playlists and thumbnail are not done yet."""

    def report(percent: int) -> None:
        if percent < 100:
            on_progress(percent)

    return report


def _finish_master_playlist(out_dir: Path, rungs: list[media.Rung], options: TranscodeOptions, *,
                            frame_rate: float) -> tuple[list[media.VariantInfo], dict[str, list[tuple[str, float]]]]:
    """Rewrite ffmpeg's master playlist with measured peak BANDWIDTH and checked RESOLUTION/CODECS.

    ffmpeg 5.1 writes a nominal BANDWIDTH (target bitrates + 10%), not the peak segment rate HLS requires, and
    leaves CODECS out when it cannot read the encoder's extradata; each variant is therefore re-measured here.
    """
    master = out_dir / media.MASTER_PLAYLIST
    written = {v.playlist: v for v in media.parse_master_playlist(master)} if master.exists() else {}
    variants = []
    segments_of: dict[str, list[tuple[str, float]]] = {}
    for i, rung in enumerate(rungs):
        playlist = f"v{i}/{media.VARIANT_PLAYLIST}"
        segments = segments_of[playlist] = media.parse_media_playlist(out_dir / playlist)
        if not segments:
            raise media.MediaError("TRANSCODE_FAILED", "변환 결과에 영상 구간이 없습니다.", detail=playlist)
        peak, average = media.measure_variant(out_dir, playlist, segment_seconds=options.segment_seconds,
                                              segments=segments)
        codecs = written[playlist].codecs if playlist in written and written[playlist].codecs else None
        if codecs is None:
            # Only when ffmpeg left CODECS out: read profile and level from the first segment.
            first_segment = out_dir / f"v{i}" / segments[0][0]
            probed = media.probe(str(first_segment), timeout=options.probe_timeout_seconds)
            video_codec = media.avc_codec_string(probed.profile, probed.level)
            if video_codec is None:
                raise media.MediaError("TRANSCODE_FAILED", "코덱 정보를 확인할 수 없습니다.", detail=playlist)
            codecs = video_codec + (f",{media.AAC_LC_CODEC}" if probed.has_audio else "")
        variants.append(media.VariantInfo(
            playlist=playlist, bandwidth=peak, average_bandwidth=average,
            # The filter graph scales every rung to exactly this size (setsar=1), so it is the picture size.
            resolution=(rung.width, rung.height), codecs=codecs,
            frame_rate=frame_rate,
        ))
    media.master_playlist_write(master, variants)
    return variants, segments_of


def _thumbnail(source_path, out_dir: Path, source: media.ProbeResult, *, timeout: float) -> str | None:
    """The poster; a failure here is logged, not fatal: the ladder is what students need."""
    target = out_dir / media.THUMBNAIL
    cmd = media.build_thumbnail_command(source_path, target, probe=source)
    try:
        completed = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        logger.warning("video thumbnail timed out")
        return None
    if completed.returncode != 0 or not target.exists() or target.stat().st_size == 0:
        logger.warning("video thumbnail failed", extra={
            "stderr": completed.stderr.decode("utf-8", "replace")[-500:]})
        return None
    return media.THUMBNAIL


def _collect_files(out_dir: Path, variants: list[media.VariantInfo], segments_of: dict[str, list[tuple[str, float]]],
                   thumbnail_key: str | None) -> list[OutputFile]:
    """Only what the playlists name (the source may sit in the same directory): segments, poster, playlists, master."""
    keys = [f"{Path(v.playlist).parent.as_posix()}/{name}" for v in variants for name, _ in segments_of[v.playlist]]
    if thumbnail_key:
        keys.append(thumbnail_key)
    keys += [v.playlist for v in variants]
    keys.append(media.MASTER_PLAYLIST)
    files = []
    for key in keys:
        path = out_dir / key
        suffix = path.suffix
        if suffix == ".m3u8":
            cache = PLAYLIST_CACHE_CONTROL
        elif suffix == ".jpg":
            cache = THUMBNAIL_CACHE_CONTROL
        else:
            cache = SEGMENT_CACHE_CONTROL
        files.append(OutputFile(path=path, relative_key=key, content_type=CONTENT_TYPES[suffix], cache_control=cache,
                                size=path.stat().st_size))
    return files
