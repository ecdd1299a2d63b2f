import random
import subprocess
import threading
import time
from fractions import Fraction
from pathlib import Path

import pytest

from apps.domains.video import media
from apps.domains.video.media import MediaError, ProbeLimits, ProbeResult


def _probe_result(width: int, height: int, *, rotation: int = 0, fps: float = 30.0, audio: bool = True,
                  duration: float = 10.0) -> ProbeResult:
    display = (height, width) if rotation in (90, 270) else (width, height)
    return ProbeResult(duration=duration, has_video=True, has_audio=audio, codec="h264", width=width, height=height,
                       rotation=rotation, display_width=display[0], display_height=display[1], frame_rate=fps,
                       bit_rate=None, size=None, format_name="mov,mp4,m4a,3gp,3g2,mj2")


MP4 = "mov,mp4,m4a,3gp,3g2,mj2"


def _processes_with(marker: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if marker in text and "pytest" not in text:
            found.append(text)
    return found


# ---------------------------------------------------------------------------
# plan_ladder / output_frame_rate
# ---------------------------------------------------------------------------
def test_ladder_of_a_1080p_source_has_every_rung_with_even_sizes_and_falling_bitrates():
    rungs = media.plan_ladder(_probe_result(1920, 1080), [360, 720, 1080, 480])

    assert [(r.name, r.width, r.height) for r in rungs] == [
        ("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]
    assert [r.video_kbps for r in rungs] == [4500, 2350, 1250, 800]
    assert all(r.maxrate_kbps > r.video_kbps and r.bufsize_kbps > r.maxrate_kbps for r in rungs)
    assert [r.audio_kbps for r in rungs] == [128, 128, 96, 64]


def test_ladder_never_goes_above_the_source():
    rungs = media.plan_ladder(_probe_result(1280, 720), [1080, 720, 480, 360])

    assert [r.name for r in rungs] == ["720p", "480p", "360p"]


def test_a_source_below_every_rung_gets_one_rung_at_its_own_even_size():
    rungs = media.plan_ladder(_probe_result(321, 181), [1080, 720, 360])

    assert [(r.name, r.width, r.height) for r in rungs] == [("180p", 320, 180)]


def test_portrait_rungs_are_named_by_the_short_side_and_keep_the_aspect():
    rungs = media.plan_ladder(_probe_result(1920, 1080, rotation=90), [1080, 720, 360])

    assert [(r.name, r.width, r.height) for r in rungs] == [
        ("1080p", 1080, 1920), ("720p", 720, 1280), ("360p", 360, 640)]


def test_a_4_3_source_keeps_its_aspect():
    rungs = media.plan_ladder(_probe_result(640, 480), [720, 480, 360])

    assert [(r.width, r.height) for r in rungs] == [(640, 480), (480, 360)]


@pytest.mark.parametrize(("source_fps", "expected"), [
    (30.0, Fraction(30)), (60.0, Fraction(30)), (50.0, Fraction(25)), (59.94, Fraction(30000, 1001)),
    (29.87, Fraction(30000, 1001)), (24.0, Fraction(24)), (0.0, Fraction(30)), (15.0, Fraction(15)),
    (120.0, Fraction(30)),
])
def test_output_frame_rate_is_a_standard_constant_rate_at_most_30(source_fps, expected):
    assert media.output_frame_rate(_probe_result(1280, 720, fps=source_fps), 30) == expected


# ---------------------------------------------------------------------------
# parse_probe / build_ffmpeg_command
# ---------------------------------------------------------------------------
def _stream(**extra) -> dict:
    return {"codec_type": "video", "codec_name": "h264", "width": 1920, "height": 1080,
            "avg_frame_rate": "30000/1001", "sample_aspect_ratio": "1:1", **extra}


def test_parse_probe_reads_the_display_matrix_rotation_and_swaps_the_displayed_size():
    data = {"format": {"duration": "12.5", "size": "1000", "bit_rate": "640", "format_name": MP4},
            "streams": [_stream(side_data_list=[{"side_data_type": "Display Matrix", "rotation": -90}]),
                        {"codec_type": "audio", "codec_name": "aac"}]}

    result = media.parse_probe(data)

    assert (result.rotation, result.display_width, result.display_height) == (90, 1080, 1920)
    assert (result.duration, result.size, result.bit_rate, result.has_audio) == (12.5, 1000, 640, True)
    assert result.frame_rate == pytest.approx(29.97, abs=0.01)


def test_parse_probe_reads_the_legacy_rotate_tag_and_non_square_pixels():
    data = {"format": {"duration": "3", "format_name": "matroska,webm"}, "streams": [
        _stream(width=720, height=576, sample_aspect_ratio="16:15", tags={"rotate": "180"})]}

    result = media.parse_probe(data)

    assert (result.rotation, result.display_width, result.display_height) == (180, 768, 576)


def test_parse_probe_refuses_cover_art_only_as_no_video_stream():
    data = {"format": {"duration": "3", "format_name": "mp3"}, "streams": [
        {"codec_type": "audio", "codec_name": "mp3"},
        _stream(codec_name="mjpeg", disposition={"attached_pic": 1})]}

    with pytest.raises(MediaError) as error:
        media.parse_probe(data)

    assert error.value.code == "NO_VIDEO_STREAM"


def test_parse_probe_refuses_a_stream_without_duration():
    with pytest.raises(MediaError) as error:
        media.parse_probe({"format": {"format_name": MP4}, "streams": [_stream()]})

    assert error.value.code == "PROBE_FAILED"
    assert error.value.message == "영상 길이를 알 수 없습니다. 손상되었거나 영상이 아닙니다."


@pytest.mark.parametrize("format_name", ["png_pipe", "hls", "concat", "image2", "tty"])
def test_parse_probe_refuses_formats_that_are_not_video_containers(format_name):
    with pytest.raises(MediaError) as error:
        media.parse_probe({"format": {"format_name": format_name, "duration": "3"}, "streams": [_stream()]})

    assert (error.value.code, error.value.message) == ("PROBE_FAILED", "지원하지 않는 영상 형식입니다.")


def test_command_decodes_once_reads_only_files_and_maps_audio_per_rung():
    source = _probe_result(1280, 720)
    rungs = media.plan_ladder(source, [720, 360])

    cmd = media.build_ffmpeg_command("/in/source.mp4", "/out", rungs, probe=source, segment_seconds=6,
                                     preset="veryfast")

    assert cmd.count("-i") == 1
    assert cmd[cmd.index("-i") - 2:cmd.index("-i") + 2] == ["-protocol_whitelist", "file", "-i", "/in/source.mp4"]
    graph = cmd[cmd.index("-filter_complex") + 1]
    assert graph.startswith("[0:v:0]fps=30/1,split=2[s0][s1];")
    assert "[s0]scale=1280:720" in graph and "[s1]scale=640:360" in graph and "asplit=2[a0][a1]" in graph
    assert cmd[cmd.index("-var_stream_map") + 1] == "v:0,a:0 v:1,a:1"
    assert cmd[cmd.index("-force_key_frames") + 1] == "expr:gte(t,n_forced*6)"
    assert cmd[cmd.index("-g") + 1] == "360"
    assert cmd[cmd.index("-hls_time") + 1] == "6"
    assert cmd[cmd.index("-hls_segment_filename") + 1] == "/out/v%v/seg_%05d.ts"
    assert cmd[-1] == "/out/v%v/index.m3u8"
    assert ["-progress", "pipe:1", "-nostats"] == cmd[cmd.index("-progress"):cmd.index("-progress") + 3]


def test_command_without_audio_has_video_only_variants():
    source = _probe_result(1280, 720, audio=False)
    rungs = media.plan_ladder(source, [720, 360])

    cmd = media.build_ffmpeg_command("/in/s.mp4", "/out", rungs, probe=source, segment_seconds=6, preset="veryfast")

    assert cmd[cmd.index("-var_stream_map") + 1] == "v:0 v:1"
    assert "aac" not in cmd and "asplit" not in cmd[cmd.index("-filter_complex") + 1]
    assert "[a0]" not in cmd


# ---------------------------------------------------------------------------
# Playlists, disk
# ---------------------------------------------------------------------------
def test_master_playlist_missing_names_each_absent_attribute(tmp_path):
    master = tmp_path / "master.m3u8"
    master.write_text(
        "#EXTM3U\n#EXT-X-VERSION:6\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=2780800,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"\nv0/index.m3u8\n\n'
        "#EXT-X-STREAM-INF:BANDWIDTH=985600\nv1/index.m3u8\n"
    )

    variants = media.parse_master_playlist(master)

    assert [(v.playlist, v.bandwidth, v.resolution, v.codecs) for v in variants] == [
        ("v0/index.m3u8", 2780800, (1280, 720), "avc1.64001f,mp4a.40.2"), ("v1/index.m3u8", 985600, None, None)]
    assert media.master_playlist_missing(variants) == ["v1/index.m3u8: RESOLUTION", "v1/index.m3u8: CODECS"]


def test_avc_codec_string_from_profile_and_level():
    assert media.avc_codec_string("High", 31) == "avc1.64001f"
    assert media.avc_codec_string("Main", 30) == "avc1.4d401e"
    assert media.avc_codec_string("Constrained Baseline", 21) == "avc1.42c015"
    assert media.avc_codec_string("Unknown", 31) is None


def test_check_free_space_refuses_with_disk_full(tmp_path):
    with pytest.raises(MediaError) as error:
        media.check_free_space(tmp_path, 10**18)

    assert error.value.code == "DISK_FULL"
    assert media.check_free_space(tmp_path, 1) > 1


# ---------------------------------------------------------------------------
# probe and run_ffmpeg against real ffprobe/ffmpeg
# ---------------------------------------------------------------------------
def test_probe_reads_a_720p_file_with_audio(make_source):
    source = make_source(width=1280, height=720, seconds=2, audio=True)

    result = media.probe(str(source), timeout=30)

    assert (result.codec, result.width, result.height, result.rotation) == ("h264", 1280, 720, 0)
    assert (result.display_width, result.display_height, result.has_audio) == (1280, 720, True)
    assert result.duration == pytest.approx(2.0, abs=0.1)
    assert result.frame_rate == 30.0
    assert result.size == source.stat().st_size


def test_probe_reads_rotation_of_a_phone_style_file(make_source):
    result = media.probe(str(make_source(width=640, height=360, seconds=1, audio=False, rotate=90)), timeout=30)

    assert (result.width, result.height) == (640, 360)
    assert result.rotation in (90, 270)
    assert (result.display_width, result.display_height) == (360, 640)


def test_probe_refuses_garbage_bytes(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(random.Random(5).randbytes(64 * 1024))

    with pytest.raises(MediaError) as error:
        media.probe(str(garbage), timeout=30)

    assert error.value.code == "PROBE_FAILED"


def test_probe_refuses_a_truncated_mp4(make_source, tmp_path):
    whole = make_source(width=640, height=360, seconds=2, audio=True).read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(whole[: len(whole) // 2])  # the moov index sits at the end of a non-faststart mp4

    with pytest.raises(MediaError) as error:
        media.probe(str(truncated), timeout=30)

    assert error.value.code == "PROBE_FAILED"
    assert "moov atom not found" in error.value.detail


def test_probe_refuses_a_playlist_disguised_as_a_video(make_source, tmp_path):
    segment = tmp_path / "seg.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(make_source(width=640, height=360, seconds=1, audio=False)),
                    "-c", "copy", str(segment)], check=True, timeout=30)
    disguised = tmp_path / "lecture.mp4"
    disguised.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{segment}\n#EXT-X-ENDLIST\n")

    with pytest.raises(MediaError) as error:
        media.probe(str(disguised), timeout=30)

    assert (error.value.code, error.value.detail) == ("PROBE_FAILED", "hls")


def test_probe_refuses_audio_only_as_no_video_stream(tmp_path):
    audio = tmp_path / "audio.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(audio)],
                   check=True, timeout=30)

    with pytest.raises(MediaError) as error:
        media.probe(str(audio), timeout=30)

    assert error.value.code == "NO_VIDEO_STREAM"


def test_probe_applies_duration_and_dimension_limits(make_source):
    source = str(make_source(width=1280, height=720, seconds=2, audio=True))

    with pytest.raises(MediaError) as too_long:
        media.probe(source, timeout=30, limits=ProbeLimits(max_duration_seconds=1))
    with pytest.raises(MediaError) as too_big:
        media.probe(source, timeout=30, limits=ProbeLimits(max_dimension=1000))
    with pytest.raises(MediaError) as too_heavy:
        media.probe(source, timeout=30, limits=ProbeLimits(max_bytes=1000))

    assert (too_long.value.code, too_big.value.code, too_heavy.value.code) == (
        "DURATION_TOO_LONG", "DIMENSIONS_TOO_LARGE", "FILE_TOO_LARGE")
    assert media.probe(source, timeout=30, limits=ProbeLimits(60, 1280, 10**9)).height == 720


def test_run_ffmpeg_kills_the_process_group_on_timeout():
    marker = "testsrc2=size=320x240:rate=25:duration=3600"
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-f", "lavfi", "-i", marker, "-f", "null", "-"]
    started = time.monotonic()

    with pytest.raises(MediaError) as error:
        media.run_ffmpeg(cmd, duration=3600, timeout=0.3, poll_interval=0.05)

    assert error.value.code == "TIMEOUT"
    assert time.monotonic() - started < 10
    assert _processes_with(marker) == []


def test_run_ffmpeg_stops_when_asked_and_kills_ffmpeg():
    marker = "testsrc2=size=320x240:rate=25:duration=3601"
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-f", "lavfi", "-i", marker, "-progress", "pipe:1", "-nostats",
           "-f", "null", "-"]
    stop = threading.Event()

    with pytest.raises(MediaError) as error:
        media.run_ffmpeg(cmd, duration=3600, timeout=60, stop_event=stop, on_progress=lambda _p: stop.set(),
                         poll_interval=0.05)

    assert error.value.code == "INTERRUPTED"
    assert _processes_with(marker) == []


def test_run_ffmpeg_failure_carries_the_stderr_tail(tmp_path):
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-protocol_whitelist", "file", "-i", str(tmp_path / "absent.mp4"),
           "-f", "null", "-"]
    progress = []

    with pytest.raises(MediaError) as error:
        media.run_ffmpeg(cmd, duration=10, timeout=30, on_progress=progress.append, poll_interval=0.05)

    assert error.value.code == "TRANSCODE_FAILED"
    assert "No such file or directory" in error.value.detail
    assert 100 not in progress
