"""ffprobe/ffmpeg for the video pipeline (ARCHITECTURE §4 Video): probe, ladder plan, one-pass HLS, progress.

Pure functions over files and subprocesses: no Django import, no settings read; callers pass every limit.
"""

from __future__ import annotations

import collections
import json
import math
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

MASTER_PLAYLIST = "master.m3u8"
VARIANT_PLAYLIST = "index.m3u8"
THUMBNAIL = "thumbnail.jpg"
STDERR_TAIL_LINES = 50

# Bitrate of a 1920x1080 rung; smaller rungs scale by pixel count ** 0.8 (quality per pixel rises as size falls).
_REFERENCE_PIXELS = 1920 * 1080
_REFERENCE_VIDEO_KBPS = 4500
_MIN_VIDEO_KBPS = 200

_AVC_PROFILE_PREFIX = {
    "Constrained Baseline": "42C0",  # x264 sets constraint_set0 and set1
    "Baseline": "4200",
    "Main": "4D40",
    "Extended": "5800",
    "High": "6400",
    "High 10": "6E00",
    "High 4:2:2": "7A00",
    "High 4:4:4 Predictive": "F400",
}
AAC_LC_CODEC = "mp4a.40.2"

# Demuxers of real video files. Playlists and reference formats (hls, concat, image2, tty, ...) are refused: a
# crafted "video" that is really a playlist could make ffmpeg read other local files into the output.
VIDEO_CONTAINERS = frozenset({
    "mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "avi", "asf", "flv", "mpeg", "mpegts",
    "mpegvideo", "ogg", "h264", "hevc", "m4v", "dv", "mxf", "nut", "wtv",
})


class MediaError(Exception):
    """A media failure: a stable code (PROBE_FAILED, TRANSCODE_FAILED, TIMEOUT, DISK_FULL, ...), a Korean message."""

    def __init__(self, code: str, message: str, *, detail: str = ""):
        self.code = code
        self.message = message
        self.detail = detail
        super().__init__(f"{code}: {message}" + (f"\n{detail}" if detail else ""))


@dataclass(frozen=True)
class ProbeLimits:
    max_duration_seconds: float | None = None
    max_dimension: int | None = None  # longest displayed side
    max_bytes: int | None = None


@dataclass(frozen=True)
class ProbeResult:
    duration: float
    has_video: bool
    has_audio: bool
    codec: str
    width: int  # coded (stored) size
    height: int
    rotation: int  # display rotation in degrees, 0/90/180/270; 90 and 270 swap the displayed width and height
    display_width: int  # after rotation and sample aspect ratio
    display_height: int
    frame_rate: float  # average; 0.0 when unknown
    bit_rate: int | None
    size: int | None
    format_name: str
    audio_codec: str | None = None
    profile: str | None = None
    level: int | None = None

    @property
    def aspect(self) -> float:
        return self.display_width / self.display_height


@dataclass(frozen=True)
class Rung:
    name: str  # "720p": the short side, so a portrait 1080x1920 phone video is "1080p" too
    width: int
    height: int
    video_kbps: int
    maxrate_kbps: int
    bufsize_kbps: int
    audio_kbps: int


@dataclass
class VariantInfo:
    playlist: str  # relative to the output directory, e.g. "v0/index.m3u8"
    bandwidth: int | None = None
    average_bandwidth: int | None = None
    resolution: tuple[int, int] | None = None
    codecs: str | None = None
    frame_rate: float | None = None


# ---------------------------------------------------------------------------
# Probe
# ---------------------------------------------------------------------------
def probe(source: str, *, timeout: float, limits: ProbeLimits | None = None) -> ProbeResult:
    """ffprobe a local path or an http(s) URL (a presigned GET) and check it against `limits`."""
    is_url = source.startswith(("http://", "https://"))
    # A URL probe gets network protocols only, never "file": the remote bytes must not reach local files.
    whitelist = "http,https,tcp,tls" if is_url else "file"
    if not is_url and not os.path.isfile(source):
        raise MediaError("PROBE_FAILED", "영상 파일을 찾을 수 없습니다.", detail=source)
    cmd = [
        FFPROBE, "-v", "error", "-protocol_whitelist", whitelist,
        "-print_format", "json", "-show_format", "-show_streams", source,
    ]
    try:
        completed = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise MediaError("PROBE_FAILED", "영상 정보를 읽는 데 시간이 너무 오래 걸립니다.")
    stderr = completed.stderr.decode("utf-8", "replace").strip()
    if completed.returncode != 0:
        raise MediaError("PROBE_FAILED", "영상 파일을 읽을 수 없습니다. 손상되었거나 영상이 아닙니다.",
                         detail=stderr[-2000:])
    try:
        data = json.loads(completed.stdout or b"{}")
    except ValueError:
        raise MediaError("PROBE_FAILED", "영상 정보를 해석할 수 없습니다.", detail=stderr[-2000:])
    result = parse_probe(data)
    if limits is not None:
        check_limits(result, limits)
    return result


def parse_probe(data: dict) -> ProbeResult:
    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    if not streams:
        raise MediaError("PROBE_FAILED", "영상 파일을 읽을 수 없습니다. 손상되었거나 영상이 아닙니다.")
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if not videos:
        raise MediaError("NO_VIDEO_STREAM", "파일에 영상 트랙이 없습니다.")
    if not set((fmt.get("format_name") or "").split(",")) & VIDEO_CONTAINERS:
        raise MediaError("PROBE_FAILED", "지원하지 않는 영상 형식입니다.", detail=fmt.get("format_name") or "")
    video = videos[0]
    width, height = _int(video.get("width")), _int(video.get("height"))
    if not width or not height:
        raise MediaError("PROBE_FAILED", "영상 크기를 알 수 없습니다.")
    duration = _float(fmt.get("duration")) or _float(video.get("duration"))
    if not duration or duration <= 0:
        raise MediaError("PROBE_FAILED", "영상 길이를 알 수 없습니다. 손상되었거나 영상이 아닙니다.")
    rotation = _rotation(video)
    sar = _ratio(video.get("sample_aspect_ratio")) or Fraction(1)
    shown_w, shown_h = (width * sar, Fraction(height))
    if rotation in (90, 270):
        shown_w, shown_h = shown_h, shown_w
    return ProbeResult(
        duration=duration,
        has_video=True,
        has_audio=bool(audios),
        codec=video.get("codec_name") or "",
        width=width,
        height=height,
        rotation=rotation,
        display_width=max(2, round(shown_w)),
        display_height=max(2, round(shown_h)),
        frame_rate=float(_ratio(video.get("avg_frame_rate")) or _ratio(video.get("r_frame_rate")) or 0),
        bit_rate=_int(fmt.get("bit_rate")),
        size=_int(fmt.get("size")),
        format_name=fmt.get("format_name") or "",
        audio_codec=audios[0].get("codec_name") if audios else None,
        profile=video.get("profile"),
        level=_int(video.get("level")),
    )


def check_limits(result: ProbeResult, limits: ProbeLimits) -> None:
    if limits.max_duration_seconds is not None and result.duration > limits.max_duration_seconds:
        raise MediaError("DURATION_TOO_LONG",
                         f"영상이 너무 깁니다. 최대 {int(limits.max_duration_seconds // 60)}분까지 올릴 수 있습니다.")
    longest = max(result.display_width, result.display_height)
    if limits.max_dimension is not None and longest > limits.max_dimension:
        raise MediaError("DIMENSIONS_TOO_LARGE",
                         f"영상 해상도가 너무 큽니다. 긴 변 최대 {limits.max_dimension}px입니다.")
    if limits.max_bytes is not None and result.size is not None and result.size > limits.max_bytes:
        raise MediaError("FILE_TOO_LARGE", "영상 파일이 너무 큽니다.")


def _rotation(stream: dict) -> int:
    for side_data in stream.get("side_data_list") or []:
        if "rotation" in side_data:
            return round(-float(side_data["rotation"])) % 360 // 90 * 90
    rotate = (stream.get("tags") or {}).get("rotate")
    if rotate is not None:
        return round(float(rotate)) % 360 // 90 * 90
    return 0


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _ratio(value) -> Fraction | None:
    if not value or not isinstance(value, str):
        return None
    try:
        num, _, den = value.replace(":", "/").partition("/")
        fraction = Fraction(int(num), int(den or 1))
    except (ValueError, ZeroDivisionError):
        return None
    return fraction if fraction > 0 else None


# ---------------------------------------------------------------------------
# Ladder plan
# ---------------------------------------------------------------------------
def plan_ladder(result: ProbeResult, renditions: Sequence[int]) -> list[Rung]:
    """Rungs by short side, largest first, never above the source; a source below every rung gets one at its size."""
    landscape = result.display_width >= result.display_height
    source_short = min(result.display_width, result.display_height)
    long_per_short = (result.display_width / result.display_height) if landscape else (
        result.display_height / result.display_width)
    wanted = sorted({int(r) for r in renditions if 0 < int(r) <= source_short}, reverse=True)
    if not wanted:
        wanted = [source_short]
    rungs = []
    for short in wanted:
        short_even = max(2, short // 2 * 2)
        long_even = max(2, round(short_even * long_per_short / 2) * 2)
        width, height = (long_even, short_even) if landscape else (short_even, long_even)
        scaled = _REFERENCE_VIDEO_KBPS * (width * height / _REFERENCE_PIXELS) ** 0.8
        kbps = max(_MIN_VIDEO_KBPS, round(scaled / 50) * 50)
        audio = 128 if short_even >= 720 else 96 if short_even >= 480 else 64
        rungs.append(Rung(name=f"{short_even}p", width=width, height=height, video_kbps=kbps,
                          maxrate_kbps=round(kbps * 1.1), bufsize_kbps=round(kbps * 1.5), audio_kbps=audio))
    return rungs


def output_frame_rate(result: ProbeResult, max_fps: int = 30) -> Fraction:
    """A constant output rate: the source's average (snapped to a standard rate), divided down to <= max_fps."""
    fps = Fraction(result.frame_rate).limit_denominator(1001) if result.frame_rate > 0 else Fraction(30)
    standards = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
                 Fraction(50), Fraction(60000, 1001), Fraction(60))
    nearest = min(standards, key=lambda standard: abs(fps - standard))
    fps = nearest if abs(fps - nearest) / nearest < Fraction(1, 100) else Fraction(max(1, round(fps)))
    divisor = 1
    while fps / divisor > max_fps:
        divisor += 1
    return fps / divisor


# ---------------------------------------------------------------------------
# ffmpeg command: one process decodes once and encodes every rung
# ---------------------------------------------------------------------------
def build_ffmpeg_command(
    source_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    rungs: Sequence[Rung],
    *,
    probe: ProbeResult,
    segment_seconds: int,
    preset: str,
    max_fps: int = 30,
    threads: int = 0,
) -> list[str]:
    if not rungs:
        raise ValueError("at least one rung is required")
    out = Path(out_dir)
    count = len(rungs)
    fps = output_frame_rate(probe, max_fps)
    fps_text = f"{fps.numerator}/{fps.denominator}"
    # fps before split: the rate conversion (and VFR → CFR) happens once, so every rung gets the same frames.
    graph = [f"[0:v:0]fps={fps_text},split={count}" + "".join(f"[s{i}]" for i in range(count))]
    for i, rung in enumerate(rungs):
        graph.append(f"[s{i}]scale={rung.width}:{rung.height}:flags=bicubic,setsar=1,format=yuv420p[v{i}]")
    if probe.has_audio:
        # aresample async pads/trims to the timestamps, keeping A/V in sync for phone recordings with gaps.
        graph.append(
            "[0:a:0]aresample=48000:async=1,aformat=sample_fmts=fltp:channel_layouts=stereo,"
            f"asplit={count}" + "".join(f"[a{i}]" for i in range(count))
        )
    gop = 2 * math.ceil(segment_seconds * fps)
    cmd = [
        FFMPEG, "-hide_banner", "-nostdin", "-y", "-loglevel", "warning",
        "-protocol_whitelist", "file",
        "-i", str(source_path),
        "-filter_complex", ";".join(graph),
    ]
    for i in range(count):
        cmd += ["-map", f"[v{i}]"]
        if probe.has_audio:
            cmd += ["-map", f"[a{i}]"]
    cmd += [
        "-c:v", "libx264", "-preset", preset, "-profile:v", "high",
        "-threads", str(threads),
        # Keyframes exactly every segment_seconds on the shared CFR timeline: identical in every rung,
        # closed GOPs, no scene-cut keyframes, so players can switch rungs at any segment boundary.
        "-force_key_frames", f"expr:gte(t,n_forced*{segment_seconds})",
        "-g", str(gop), "-sc_threshold", "0", "-flags", "+cgop",
        "-fps_mode", "cfr",
    ]
    for i, rung in enumerate(rungs):
        cmd += [f"-b:v:{i}", f"{rung.video_kbps}k", f"-maxrate:v:{i}", f"{rung.maxrate_kbps}k",
                f"-bufsize:v:{i}", f"{rung.bufsize_kbps}k"]
    if probe.has_audio:
        cmd += ["-c:a", "aac", "-ac", "2"]
        for i, rung in enumerate(rungs):
            cmd += [f"-b:a:{i}", f"{rung.audio_kbps}k"]
    stream_map = " ".join(f"v:{i},a:{i}" if probe.has_audio else f"v:{i}" for i in range(count))
    cmd += [
        "-f", "hls",
        "-hls_time", str(segment_seconds),
        "-hls_playlist_type", "vod",
        "-hls_segment_type", "mpegts",
        "-hls_flags", "independent_segments",
        "-hls_segment_filename", str(out / "v%v" / "seg_%05d.ts"),
        "-master_pl_name", MASTER_PLAYLIST,
        "-var_stream_map", stream_map,
        "-progress", "pipe:1", "-nostats",
        str(out / "v%v" / VARIANT_PLAYLIST),
    ]
    return cmd


def build_thumbnail_command(source_path: str | os.PathLike, out_path: str | os.PathLike, *,
                            probe: ProbeResult, max_width: int = 1280) -> list[str]:
    """A separate call: input seeking decodes about one GOP, so it costs well under a second."""
    at = min(probe.duration * 0.1, 10.0)
    width = min(max_width, probe.display_width) // 2 * 2
    return [
        FFMPEG, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-protocol_whitelist", "file",
        "-ss", f"{at:.3f}", "-i", str(source_path),
        "-frames:v", "1", "-vf", f"scale={width}:-2,setsar=1", "-q:v", "3", "-update", "1",
        str(out_path),
    ]


# ---------------------------------------------------------------------------
# Running ffmpeg
# ---------------------------------------------------------------------------
_TIME_KEYS = ("out_time_us", "out_time_ms")  # out_time_ms is microseconds too (a long-standing ffmpeg quirk)


def run_ffmpeg(
    cmd: Sequence[str],
    *,
    duration: float,
    on_progress: Callable[[int], None] | None = None,
    timeout: float,
    stop_event: threading.Event | None = None,
    poll_interval: float = 0.5,
) -> None:
    """Run ffmpeg in its own process group; report whole percents (increasing, 100 last) from the caller's thread.

    Raises MediaError TIMEOUT or INTERRUPTED (process group killed) or TRANSCODE_FAILED (stderr tail in `detail`).
    """
    proc = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    state = {"out_us": 0, "ended": False}

    def read_progress():
        for raw in proc.stdout:
            key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
            if key in _TIME_KEYS and value.lstrip("-").isdigit():
                state["out_us"] = max(state["out_us"], int(value))
            elif key == "progress" and value == "end":
                state["ended"] = True

    def read_stderr():
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                tail.append(line)

    readers = [threading.Thread(target=read_progress, daemon=True), threading.Thread(target=read_stderr, daemon=True)]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout
    reported = -1
    try:
        while True:
            try:
                proc.wait(timeout=poll_interval)
                break
            except subprocess.TimeoutExpired:
                pass
            if stop_event is not None and stop_event.is_set():
                _kill_group(proc)
                raise MediaError("INTERRUPTED", "영상 변환이 중단되었습니다.")
            if time.monotonic() >= deadline:
                _kill_group(proc)
                raise MediaError("TIMEOUT", f"영상 변환 시간이 제한({int(timeout)}초)을 넘었습니다.",
                                 detail="\n".join(tail))
            percent = _percent(state["out_us"], duration)
            if on_progress is not None and percent > reported:
                reported = percent
                on_progress(percent)
    finally:
        if proc.poll() is None:
            _kill_group(proc)
        for reader in readers:
            reader.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
    if proc.returncode != 0:
        raise MediaError("TRANSCODE_FAILED", "영상 변환에 실패했습니다.",
                         detail=f"ffmpeg exit {proc.returncode}\n" + "\n".join(tail))
    if on_progress is not None:
        on_progress(100)


def _percent(out_us: int, duration: float) -> int:
    if duration <= 0:
        return 0
    return max(0, min(99, int(out_us / 1_000_000 / duration * 100)))


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


# ---------------------------------------------------------------------------
# Playlists
# ---------------------------------------------------------------------------
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def parse_master_playlist(path: str | os.PathLike) -> list[VariantInfo]:
    lines = [line.strip() for line in Path(path).read_text().splitlines()]
    if not lines or lines[0] != "#EXTM3U":
        raise MediaError("TRANSCODE_FAILED", "마스터 재생 목록이 올바르지 않습니다.")
    variants = []
    pending: dict[str, str] | None = None
    for line in lines[1:]:
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = {k: v.strip('"') for k, v in _ATTRIBUTE.findall(line.split(":", 1)[1])}
        elif line and not line.startswith("#") and pending is not None:
            resolution = None
            if "RESOLUTION" in pending:
                w, _, h = pending["RESOLUTION"].partition("x")
                resolution = (int(w), int(h))
            variants.append(VariantInfo(
                playlist=line,
                bandwidth=_int(pending.get("BANDWIDTH")),
                average_bandwidth=_int(pending.get("AVERAGE-BANDWIDTH")),
                resolution=resolution,
                codecs=pending.get("CODECS"),
                frame_rate=_float(pending.get("FRAME-RATE")),
            ))
            pending = None
    return variants


def master_playlist_missing(variants: Sequence[VariantInfo]) -> list[str]:
    """What a master playlist lacks: ["v1/index.m3u8: CODECS", ...]; empty when every variant is complete."""
    missing = []
    for variant in variants:
        for name, value in (("BANDWIDTH", variant.bandwidth), ("RESOLUTION", variant.resolution),
                            ("CODECS", variant.codecs)):
            if not value:
                missing.append(f"{variant.playlist}: {name}")
    return missing


def parse_media_playlist(path: str | os.PathLike) -> list[tuple[str, float]]:
    """(segment file name, duration) in order."""
    segments = []
    duration = None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append((line, duration))
            duration = None
    return segments


def measure_variant(out_dir: str | os.PathLike, playlist: str, *, segment_seconds: float,
                    segments: list[tuple[str, float]] | None = None) -> tuple[int, int]:
    """(peak, average) bits per second over the segments; segments shorter than half a target are not peaks."""
    base = Path(out_dir) / playlist
    segments = parse_media_playlist(base) if segments is None else segments
    if not segments:
        raise MediaError("TRANSCODE_FAILED", "재생 목록에 구간이 없습니다.", detail=playlist)
    sizes = [((base.parent / name).stat().st_size, seconds) for name, seconds in segments]
    total_bits = sum(size for size, _ in sizes) * 8
    total_seconds = sum(seconds for _, seconds in sizes) or 1.0
    long_enough = [(s, d) for s, d in sizes if d >= segment_seconds / 2] or sizes
    peak = max(size * 8 / max(seconds, 0.001) for size, seconds in long_enough)
    return math.ceil(peak), math.ceil(total_bits / total_seconds)


def avc_codec_string(profile: str | None, level: int | None) -> str | None:
    prefix = _AVC_PROFILE_PREFIX.get(profile or "")
    if prefix is None or not level:
        return None
    return f"avc1.{prefix.lower()}{level:02x}"


def master_playlist_write(path: str | os.PathLike, variants: Sequence[VariantInfo]) -> None:
    """Write the master playlist: BANDWIDTH (peak), AVERAGE-BANDWIDTH, RESOLUTION, FRAME-RATE, CODECS per variant."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for variant in sorted(variants, key=lambda v: v.bandwidth or 0, reverse=True):
        if not (variant.bandwidth and variant.resolution and variant.codecs):
            raise MediaError("TRANSCODE_FAILED", "재생 목록 정보가 부족합니다.", detail=variant.playlist)
        attributes = [f"BANDWIDTH={variant.bandwidth}"]
        if variant.average_bandwidth:
            attributes.append(f"AVERAGE-BANDWIDTH={variant.average_bandwidth}")
        attributes.append(f"RESOLUTION={variant.resolution[0]}x{variant.resolution[1]}")
        if variant.frame_rate:
            attributes.append(f"FRAME-RATE={variant.frame_rate:.3f}")
        attributes.append(f'CODECS="{variant.codecs}"')
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attributes), variant.playlist]
    tmp = Path(str(path) + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# Disk
# ---------------------------------------------------------------------------
def check_free_space(directory: str | os.PathLike, needed_bytes: int) -> int:
    """Free bytes in `directory`; MediaError DISK_FULL when fewer than `needed_bytes`."""
    os.makedirs(directory, exist_ok=True)
    free = shutil.disk_usage(directory).free
    if free < needed_bytes:
        raise MediaError("DISK_FULL", "작업 디스크 공간이 부족합니다.",
                         detail=f"{directory}: free {free} bytes, needed {needed_bytes} bytes")
    return free


def estimate_output_bytes(rungs: Sequence[Rung], duration: float, *, has_audio: bool) -> int:
    """Upper bound of the HLS tree: every rung at its maxrate, plus 10% for TS overhead."""
    kbps = sum(r.maxrate_kbps + (r.audio_kbps if has_audio else 0) for r in rungs)
    return math.ceil(kbps * 1000 / 8 * duration * 1.1) + 1024 * 1024
