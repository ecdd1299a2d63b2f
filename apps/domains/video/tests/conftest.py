"""Media generated on demand with lavfi (testsrc2 + sine), small and short, cached for the test session."""

import subprocess
from pathlib import Path

import pytest


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def make_source(tmp_path_factory):
    cache: dict[tuple, Path] = {}
    root = tmp_path_factory.mktemp("video-sources")

    def make(*, width: int = 1280, height: int = 720, seconds: float = 2, fps: int = 30, audio: bool = True,
             rotate: int | None = None) -> Path:
        key = (width, height, seconds, fps, audio, rotate)
        if key in cache:
            return cache[key]
        name = f"src_{width}x{height}_{seconds}s_{fps}_{'a' if audio else 'na'}_{rotate}.mp4"
        path = root / name
        cmd = ["ffmpeg", "-hide_banner", "-v", "error", "-y",
               "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"]
        if audio:
            cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]
        cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        if audio:
            cmd += ["-c:a", "aac", "-shortest"]
        target = path if rotate is None else root / f"plain_{name}"
        _run([*cmd, str(target)])
        if rotate is not None:
            # Only a stream copy carries the rotate tag into the display matrix (ffmpeg 5.1).
            _run(["ffmpeg", "-hide_banner", "-v", "error", "-y", "-i", str(target), "-c", "copy",
                  "-metadata:s:v:0", f"rotate={rotate}", str(path)])
        cache[key] = path
        return path

    return make


# Watch progress fixtures (students with logins enrolled in a lecture, parents linked to them).
from .progress_support import enrolled_student, parent_of  # noqa: E402, F401

# Upload, API and playback fixtures (fake Batch, local storage served by a live server, users, lecture, a tiny MP4).
from .upload_support import (  # noqa: E402, F401
    fake_batch,
    lecture,
    served_storage,
    teacher,
    teacher_client,
    tiny_video,
)
