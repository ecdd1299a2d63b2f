import itertools
import json
import re
import subprocess
from pathlib import Path

import pytest

from apps.domains.video import media, transcode
from apps.domains.video.media import MediaError
from apps.domains.video.transcode import TranscodeOptions

pytestmark = pytest.mark.slow

FAST = TranscodeOptions(renditions=(1080, 720, 360), segment_seconds=1, preset="ultrafast", timeout_seconds=120,
                        probe_timeout_seconds=30, progress_interval=0.02)
CODECS_WITH_AUDIO = re.compile(r"^avc1\.[0-9a-f]{6},mp4a\.40\.2$")
CODECS_VIDEO_ONLY = re.compile(r"^avc1\.[0-9a-f]{6}$")


def _ffprobe_json(path: Path, *args: str) -> dict:
    completed = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", *args, str(path)],
                               capture_output=True, check=True, timeout=60)
    return json.loads(completed.stdout)


def _keyframe_times(playlist: Path) -> list[str]:
    data = _ffprobe_json(playlist, "-select_streams", "v:0", "-skip_frame", "nokey",
                         "-show_entries", "frame=pts_time")
    return [frame["pts_time"] for frame in data["frames"]]


def test_720p_with_audio_becomes_a_ladder_up_to_the_source_with_a_complete_master(make_source, tmp_path):
    source = make_source(width=1280, height=720, seconds=3, audio=True)
    progress: list[int] = []

    result = transcode.transcode_to_hls(source, tmp_path / "out", options=FAST, on_progress=progress.append)

    out = tmp_path / "out"
    assert [r.name for r in result.rungs] == ["720p", "360p"]
    variants = media.parse_master_playlist(out / "master.m3u8")
    assert [(v.playlist, v.resolution) for v in variants] == [("v0/index.m3u8", (1280, 720)),
                                                              ("v1/index.m3u8", (640, 360))]
    assert media.master_playlist_missing(variants) == []
    assert all(CODECS_WITH_AUDIO.match(v.codecs) for v in variants)
    segment = media.probe(str(out / "v0" / "seg_00000.ts"), timeout=30)
    assert f"{media.avc_codec_string(segment.profile, segment.level)},mp4a.40.2" == variants[0].codecs
    assert variants[0].bandwidth > variants[1].bandwidth > 0
    assert all(v.average_bandwidth <= v.bandwidth for v in variants)
    assert [(r["name"], r["width"], r["height"]) for r in result.renditions] == [("720p", 1280, 720),
                                                                                 ("360p", 640, 360)]
    decoded = _ffprobe_json(out / "v0" / "index.m3u8", "-count_frames", "-show_entries",
                            "stream=codec_type,codec_name,width,height,nb_read_frames")
    assert sorted((s["codec_type"], s["codec_name"]) for s in decoded["streams"]) == [("audio", "aac"),
                                                                                       ("video", "h264")]
    video = next(s for s in decoded["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"], int(video["nb_read_frames"])) == (1280, 720, 90)
    assert result.thumbnail_key == "thumbnail.jpg"
    assert (out / "thumbnail.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    assert result.duration == pytest.approx(3.0, abs=0.1)
    assert progress == sorted(set(progress)) and progress[-1] == 100 and len(progress) >= 2


def test_files_come_with_content_types_and_cache_headers_and_playlists_last(make_source, tmp_path):
    source = make_source(width=1280, height=720, seconds=3, audio=True)

    result = transcode.transcode_to_hls(source, tmp_path, options=FAST)

    kinds = [Path(f.relative_key).suffix for f in result.files]
    first_playlist = kinds.index(".m3u8")
    assert set(kinds[:first_playlist]) == {".ts", ".jpg"} and set(kinds[first_playlist:]) == {".m3u8"}
    assert result.files[-1].relative_key == "master.m3u8"
    by_suffix = {Path(f.relative_key).suffix: (f.content_type, f.cache_control) for f in result.files}
    assert by_suffix == {
        ".ts": ("video/mp2t", "public, max-age=31536000, immutable"),
        ".jpg": ("image/jpeg", "public, max-age=86400"),
        ".m3u8": ("application/vnd.apple.mpegurl", "no-cache"),
    }
    segments = [f for f in result.files if f.relative_key.endswith(".ts")]
    assert len(segments) == 6  # 3 s in 1 s segments, 2 rungs
    assert result.total_bytes == sum(f.path.stat().st_size for f in result.files)
    assert "src_" not in " ".join(f.relative_key for f in result.files)


def test_keyframes_are_aligned_across_renditions_at_segment_boundaries(make_source, tmp_path):
    source = make_source(width=1280, height=720, seconds=3, audio=True)

    transcode.transcode_to_hls(source, tmp_path, options=FAST)

    top, bottom = _keyframe_times(tmp_path / "v0" / "index.m3u8"), _keyframe_times(tmp_path / "v1" / "index.m3u8")
    assert top == bottom
    assert len(top) == 3
    steps = [round(float(b) - float(a), 3) for a, b in itertools.pairwise(top)]
    assert steps == [1.0, 1.0]


def test_a_source_without_audio_gets_video_only_variants(make_source, tmp_path):
    source = make_source(width=640, height=360, seconds=2, audio=False)

    result = transcode.transcode_to_hls(source, tmp_path, options=FAST)

    assert [r["name"] for r in result.renditions] == ["360p"]
    assert CODECS_VIDEO_ONLY.match(result.renditions[0]["codecs"])
    streams = _ffprobe_json(tmp_path / "v0" / "index.m3u8", "-show_entries", "stream=codec_type")["streams"]
    assert [s["codec_type"] for s in streams] == ["video"]


def test_a_rotated_phone_video_comes_out_portrait(make_source, tmp_path):
    source = make_source(width=640, height=360, seconds=1, audio=True, rotate=90)

    result = transcode.transcode_to_hls(source, tmp_path, options=FAST)

    assert [(r["name"], r["width"], r["height"]) for r in result.renditions] == [("360p", 360, 640)]
    stream = _ffprobe_json(tmp_path / "v0" / "index.m3u8", "-select_streams", "v:0", "-show_entries",
                           "stream=width,height:stream_side_data")["streams"][0]
    assert (stream["width"], stream["height"]) == (360, 640)
    assert "side_data_list" not in stream  # pixels turned, so no player rotates them a second time


def test_odd_dimensions_come_out_even(make_source, tmp_path):
    source = make_source(width=641, height=361, seconds=1, audio=False)

    result = transcode.transcode_to_hls(source, tmp_path, options=TranscodeOptions(
        renditions=(720, 480, 360, 240), segment_seconds=1, preset="ultrafast", probe_timeout_seconds=30))

    assert [(r["width"], r["height"]) for r in result.renditions] == [(640, 360), (426, 240)]
    for rendition in result.renditions:
        stream = _ffprobe_json(tmp_path / rendition["playlist"], "-select_streams", "v:0", "-show_entries",
                               "stream=width,height")["streams"][0]
        assert (stream["width"], stream["height"]) == (rendition["width"], rendition["height"])


def test_a_source_smaller_than_every_rung_gets_one_rung_at_its_size(make_source, tmp_path):
    source = make_source(width=321, height=181, seconds=1, audio=True)

    result = transcode.transcode_to_hls(source, tmp_path, options=FAST)

    assert [(r["name"], r["width"], r["height"]) for r in result.renditions] == [("180p", 320, 180)]


def test_a_one_second_clip_has_one_segment_per_rung(make_source, tmp_path):
    source = make_source(width=1280, height=720, seconds=1, audio=True)

    result = transcode.transcode_to_hls(source, tmp_path, options=TranscodeOptions(
        renditions=(720, 360), segment_seconds=6, preset="ultrafast", probe_timeout_seconds=30))

    assert [f.relative_key for f in result.files if f.relative_key.endswith(".ts")] == ["v0/seg_00000.ts",
                                                                                       "v1/seg_00000.ts"]
    assert media.parse_media_playlist(tmp_path / "v0" / "index.m3u8")[0][1] == pytest.approx(1.0, abs=0.05)
    assert media.master_playlist_missing(media.parse_master_playlist(tmp_path / "master.m3u8")) == []


def test_garbage_is_refused_before_ffmpeg_runs(tmp_path):
    source = tmp_path / "lecture.mp4"
    source.write_bytes(b"this is not a video\n" * 4096)

    with pytest.raises(MediaError) as error:
        transcode.transcode_to_hls(source, tmp_path / "out", options=FAST)

    assert error.value.code == "PROBE_FAILED"
    assert list((tmp_path / "out").iterdir()) == []


def test_too_little_disk_fails_with_disk_full_before_encoding(make_source, tmp_path, monkeypatch):
    source = make_source(width=640, height=360, seconds=2, audio=True)
    monkeypatch.setattr(media.shutil, "disk_usage", lambda _path: type("Usage", (), {"free": 1000})())

    with pytest.raises(MediaError) as error:
        transcode.transcode_to_hls(source, tmp_path / "out", options=FAST)

    assert error.value.code == "DISK_FULL"
    assert list((tmp_path / "out").iterdir()) == []


def test_a_transcode_over_its_time_limit_fails_with_timeout(make_source, tmp_path):
    source = make_source(width=1280, height=720, seconds=3, audio=True)
    options = TranscodeOptions(renditions=(720, 360), segment_seconds=1, preset="veryslow", timeout_seconds=0.2,
                               probe_timeout_seconds=30)

    with pytest.raises(MediaError) as error:
        transcode.transcode_to_hls(source, tmp_path, options=options)

    assert error.value.code == "TIMEOUT"
    assert not (tmp_path / "master.m3u8").exists()


def test_options_from_settings_follow_the_video_settings(settings):
    settings.VIDEO_RENDITIONS = [720, 360]
    settings.VIDEO_SEGMENT_SECONDS = 4
    settings.VIDEO_X264_PRESET = "faster"
    settings.VIDEO_MAX_DURATION_SECONDS = 600

    options = TranscodeOptions.from_settings()

    assert (options.renditions, options.segment_seconds, options.preset) == ((720, 360), 4, "faster")
    assert options.limits.max_duration_seconds == 600
    assert options.timeout_seconds == 14400


def test_a_master_playlist_without_codecs_is_rewritten_from_the_renditions(make_source, tmp_path):
    source = make_source(width=640, height=360, seconds=2, audio=True)
    result = transcode.transcode_to_hls(source, tmp_path, options=FAST)
    master = tmp_path / "master.m3u8"
    master.write_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/index.m3u8\n")

    variants, _ = transcode._finish_master_playlist(tmp_path, result.rungs, FAST, frame_rate=30.0)

    written = media.parse_master_playlist(master)
    assert media.master_playlist_missing(written) == []
    assert [(v.codecs, v.resolution, v.frame_rate) for v in written] == [
        (result.renditions[0]["codecs"], (640, 360), 30.0)]
    assert written[0].bandwidth == variants[0].bandwidth > 1


def test_a_variable_frame_rate_source_comes_out_at_a_constant_rate(tmp_path):
    source = tmp_path / "vfr.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=640x360:rate=30:duration=3", "-vf", "setpts='(N+0.4*sin(N))/30/TB'",
                    "-fps_mode", "passthrough", "-video_track_timescale", "90000", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(source)], check=True, timeout=60)
    source_times = [float(p["pts_time"]) for p in _ffprobe_json(source, "-select_streams", "v", "-show_entries",
                                                                   "packet=pts_time")["packets"]]
    assert len({round(b - a, 4) for a, b in itertools.pairwise(sorted(source_times))}) > 1

    transcode.transcode_to_hls(source, tmp_path / "out", options=FAST)

    frames = _ffprobe_json(tmp_path / "out" / "v0" / "index.m3u8", "-select_streams", "v", "-show_entries",
                           "frame=pts_time")["frames"]
    steps = {round(float(b["pts_time"]) - float(a["pts_time"]), 4) for a, b in itertools.pairwise(frames)}
    assert (len(frames), steps) == (90, {0.0333})
