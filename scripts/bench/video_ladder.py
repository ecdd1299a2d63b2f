"""Benchmark of the video ladder (ARCHITECTURE §4 Video): our transcode path vs the bare ffmpeg it wraps.

Generates a 60 s 1080p30 clip with audio (lavfi testsrc2 + sine, x264 ultrafast), then measures, each in a fresh
child process so peak RSS and CPU time are per measurement (getrusage RUSAGE_CHILDREN of that child):
  decode     ffmpeg decoding the source to null (the floor)
  ours       apps.domains.video.transcode.transcode_to_hls (probe, plan, one ffmpeg pass, master rewrite, thumbnail)
  entrypoint `python -m apps.worker.video.batch_main <job_id>` on the embedded stack: a SQLite database, local
             storage, the API under `manage.py runserver` for the internal reports; the process start, Django
             set-up, claim, download, transcode, upload of the tree, heartbeats, progress and complete all count
  single     the same one-pass ffmpeg command run bare
  per-rung   one ffmpeg process per rendition, run one after another
Targets: ours/single and entrypoint/single <= 1.10; per-rung/single >= 1.20. With --repeat N the fastest of N
runs counts.
`--long` adds a 10-minute vs 1-minute RSS comparison.

    .venv/bin/python scripts/bench/video_ladder.py [--renditions 1080,720,360] [--preset veryfast] [--repeat 2] [--long]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from apps.domains.video import media, transcode  # noqa: E402
from scripts.bench import harness  # noqa: E402


def generate(path: Path, seconds: int) -> None:
    subprocess.run([
        "ffmpeg", "-hide_banner", "-v", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path),
    ], check=True)


def _without_progress(cmd: list[str]) -> list[str]:
    at = cmd.index("-progress")
    return cmd[:at] + cmd[at + 3:]


def stack_env(work: Path, args, port: int) -> dict:
    """The embedded stack's environment, shared by the API server, the seeding child and the entrypoint."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "apps.api.config.settings.dev",
        "DEBUG": "0",
        "DB_HOST": "",
        "SQLITE_PATH": str(work / "stack.sqlite3"),
        "REDIS_URL": "",
        "STORAGE_BACKEND": "local",
        "LOCAL_STORAGE_DIR": str(work / "storage"),
        "BATCH_BACKEND": "local",
        "BATCH_LOCAL_LOG_DIR": str(work / "batch-logs"),
        "API_BASE_URL": f"http://127.0.0.1:{port}",
        "INTERNAL_WORKER_TOKEN": "bench-internal-token",
        "VIDEO_WORKER_TEMP_DIR": str(work / "scratch"),
        "VIDEO_RENDITIONS": args.renditions,
        "VIDEO_X264_PRESET": args.preset,
        "VIDEO_SEGMENT_SECONDS": str(args.segment),
        "LOG_LEVEL": "WARNING",
    }


class EmbeddedStack:
    """A migrated SQLite database and the API (`manage.py runserver`) the entrypoint reports to."""

    def __init__(self, work: Path, args):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.env = stack_env(work, args, self.port)
        self.log = open(work / "api.log", "wb")
        self.server: subprocess.Popen | None = None

    def __enter__(self):
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env,
                       check=True)
        self.server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        harness.wait_for_http(f"http://127.0.0.1:{self.port}/health", self.server, seconds=60)  # else see api.log
        return self

    def __exit__(self, *exc):
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)
        self.log.close()


def seed_transcode_job(source: str) -> str:
    """A tenant, a lecture, an UPLOADED video with its raw object and a QUEUED video_transcode job (stack env)."""
    import django

    django.setup()
    from apps.core.models import Tenant
    from apps.domains.lectures.models import Lecture
    from apps.domains.video.services import video_create, video_mark_uploaded
    from apps.integrations.storage import get_storage
    from apps.jobs.models import Job, JobBackend

    tenant, _ = Tenant.objects.get_or_create(code="bench", defaults={"name": "bench 학원"})
    lecture = Lecture.objects.create(tenant=tenant, title="벤치마크")
    size = Path(source).stat().st_size
    video = video_create(tenant=tenant, created_by=None, title="bench", lecture=lecture, session=None,
                         filename="bench.mp4", size=size, content_type="video/mp4")
    get_storage().put_file("video", video.raw_key, source, content_type="video/mp4")
    video_mark_uploaded(video=video)
    job = Job.objects.create(tenant=tenant, kind="video_transcode", payload={"video_id": video.id},
                             backend=JobBackend.BATCH, external_id="bench")
    return str(job.id)


def job_state(job_id: str) -> str:
    from apps.jobs.models import Job

    return Job.objects.get(id=job_id).state


def child(mode: str, source: str, out_dir: str, renditions: list[int], preset: str, segment: int) -> dict:
    """One measurement; runs inside its own interpreter so RUSAGE_CHILDREN covers only its ffmpeg processes."""
    options = transcode.TranscodeOptions(renditions=tuple(renditions), segment_seconds=segment, preset=preset,
                                         timeout_seconds=14400, probe_timeout_seconds=60)
    started = time.monotonic()
    if mode == "entrypoint":
        # Seeding is set-up, not measured: only the entrypoint process (and its ffmpeg) is timed.
        job_id = seed_transcode_job(source)
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "apps.worker.video.batch_main", job_id], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        wall = time.monotonic() - started
        if job_state(job_id) != "DONE":
            raise SystemExit(f"entrypoint left job {job_id} {job_state(job_id)}")
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {"wall": wall, "cpu": children.ru_utime + children.ru_stime,
                "rss_children_mb": children.ru_maxrss / 1024,
                "rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if mode == "ours":
        transcode.transcode_to_hls(source, out_dir, options=options, on_progress=lambda _p: None)
    else:
        probed = media.probe(source, timeout=60)
        rungs = media.plan_ladder(probed, renditions)
        if mode == "decode":
            commands = [["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", source, "-f", "null", "-"]]
        elif mode == "single":
            commands = [_without_progress(media.build_ffmpeg_command(source, out_dir, rungs, probe=probed,
                                                                     segment_seconds=segment, preset=preset))]
        elif mode == "per-rung":
            commands = [_without_progress(media.build_ffmpeg_command(source, Path(out_dir) / rung.name, [rung],
                                                                     probe=probed, segment_seconds=segment,
                                                                     preset=preset)) for rung in rungs]
        else:
            raise SystemExit(f"unknown mode {mode}")
        started = time.monotonic()
        for cmd in commands:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": wall,
        "cpu": children.ru_utime + children.ru_stime,
        "rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(mode: str, source: Path, work: Path, args, *, env: dict | None = None) -> dict:
    out_dir = work / f"out-{mode}"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    completed = subprocess.run([
        sys.executable, __file__, "--child", mode, "--source", str(source), "--out", str(out_dir),
        "--renditions", args.renditions, "--preset", args.preset, "--segment", str(args.segment),
    ], capture_output=True, text=True, env=env)
    if completed.returncode != 0:
        raise SystemExit(f"{mode} failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
    shutil.rmtree(out_dir, ignore_errors=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renditions", default="1080,720,360")
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--segment", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of every mode (order rotated each round); the fastest wall of each is kept")
    parser.add_argument("--long", action="store_true", help="also compare RSS of a 10-minute and a 1-minute source")
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    renditions = [int(r) for r in args.renditions.split(",")]

    if args.child:
        print(json.dumps(child(args.child, args.source, args.out, renditions, args.preset, args.segment)))
        return 0

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="video-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f} ffmpeg={_ffmpeg_version()} "
              f"rungs={args.renditions} preset={args.preset} segment={args.segment}s")
        source = work / f"source_{args.seconds}s.mp4"
        started = time.monotonic()
        generate(source, args.seconds)
        print(f"generated {args.seconds} s 1080p30 + audio in {time.monotonic() - started:.1f} s "
              f"({source.stat().st_size / 1e6:.1f} MB)")
        modes = ["decode", "single", "ours", "entrypoint", "per-rung"]
        runs: dict[str, list[dict]] = {mode: [] for mode in modes}
        with EmbeddedStack(work, args) as stack:
            for round_number in range(args.repeat):
                order = modes[round_number % len(modes):] + modes[:round_number % len(modes)]
                for mode in order:
                    runs[mode].append(measure(mode, source, work, args,
                                              env=stack.env if mode == "entrypoint" else None))
        results = {}
        for mode in modes:
            walls = [run["wall"] for run in runs[mode]]
            results[mode] = result = min(runs[mode], key=lambda run: run["wall"])
            result["rss_children_mb"] = max(run["rss_children_mb"] for run in runs[mode])
            print(f"{mode:10s} wall {result['wall']:7.1f} s  realtime x{args.seconds / result['wall']:5.2f}  "
                  f"cpu {result['cpu']:6.1f} s  "
                  f"peak RSS ffmpeg {result['rss_children_mb']:6.0f} MB  python {result['rss_self_mb']:5.0f} MB"
                  + (f"  (runs: {', '.join(f'{w:.1f}' for w in walls)})" if len(walls) > 1 else ""))
        ours_ratio = results["ours"]["wall"] / results["single"]["wall"]
        entry_ratio = results["entrypoint"]["wall"] / results["single"]["wall"]
        per_rung_ratio = results["per-rung"]["wall"] / results["single"]["wall"]
        print(f"ours/single     = {ours_ratio:.3f}  (target <= 1.10: {'OK' if ours_ratio <= 1.10 else 'MISS'})")
        print(f"entrypoint/single = {entry_ratio:.3f}  (target <= 1.10: {'OK' if entry_ratio <= 1.10 else 'MISS'})")
        print(f"per-rung/single = {per_rung_ratio:.3f}  (target >= 1.20: {'OK' if per_rung_ratio >= 1.20 else 'MISS'})")
        ours_cpu = results["ours"]["cpu"] / results["single"]["cpu"]
        entry_cpu = results["entrypoint"]["cpu"] / results["single"]["cpu"]
        per_rung_cpu = results["per-rung"]["cpu"] / results["single"]["cpu"]
        print(f"cpu time (less sensitive to other load): ours/single = {ours_cpu:.3f}, "
              f"entrypoint/single = {entry_cpu:.3f}, per-rung/single = {per_rung_cpu:.3f}")
        load = os.getloadavg()[0]
        print(f"load after={load:.2f} (above {os.cpu_count()} means other work shared the cores: numbers are noisy)")

        if args.long:
            long_source = work / "source_600s.mp4"
            started = time.monotonic()
            generate(long_source, 600)
            print(f"generated 600 s source in {time.monotonic() - started:.1f} s")
            long_result = measure("ours", long_source, work, args)
            short = results["ours"]
            print(f"RSS 10 min: ffmpeg {long_result['rss_children_mb']:.0f} MB, python "
                  f"{long_result['rss_self_mb']:.0f} MB (wall {long_result['wall']:.1f} s); "
                  f"1 min: ffmpeg {short['rss_children_mb']:.0f} MB, python {short['rss_self_mb']:.0f} MB; "
                  f"ratio {long_result['rss_children_mb'] / short['rss_children_mb']:.2f}")
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _ffmpeg_version() -> str:
    first = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=True).stdout.split("\n")[0]
    return first.split()[2] if len(first.split()) > 2 else first


if __name__ == "__main__":
    sys.exit(main())
