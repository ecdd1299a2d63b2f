"""What each worker process imports decides what its image must carry (docker/, docs/deploy.md §6): the messaging
image and the video image install the base requirements only, so their processes (started as in the image, with
the worker settings, then loading every handler their jobs use) must import no OpenCV, numpy, Pillow, reportlab or
the other image, PDF and spreadsheet libraries. Each process runs in a fresh interpreter: this one has them all."""

import json
import os
import subprocess
import sys

import pytest

from apps.worker.tests.support import REPO_ROOT

HEAVY = ["cv2", "numpy", "PIL", "reportlab", "pypdfium2", "pillow_heif", "pytesseract", "openpyxl", "python_calamine"]

PROCESS = """
import json, sys
import django
django.setup()
from django.utils.module_loading import import_string
from apps.jobs.fleets import get_fleet
from apps.jobs.registry import all_specs

process = sys.argv[1]
if process == "video":
    import apps.worker.video.batch_main  # the Batch entrypoint (docker/video_entrypoint.sh)
    import apps.worker.runtime
    specs = [spec for spec in all_specs() if spec.backend == "batch"]
else:
    from django.core.management import load_command_class
    from apps.worker.runtime import build_runtime
    load_command_class("apps.jobs", "run_worker")  # docker/worker_entrypoint.sh: manage.py run_worker <fleet>
    build_runtime(process)
    fleet = get_fleet(process)
    specs = [spec for spec in all_specs() if spec.backend == "queue" and spec.queue_setting in fleet.queue_settings]
for spec in specs:
    import_string(spec.handler)
    if spec.on_terminal:
        import_string(spec.on_terminal)
print(json.dumps({"kinds": sorted(spec.kind for spec in specs),
                  "heavy": sorted(name for name in json.loads(sys.argv[2]) if name in sys.modules)}))
"""


def _imports(process: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "apps.api.config.settings.worker", "ENV_FILE": os.devnull,
           "PYTHONPATH": str(REPO_ROOT), "SECRET_KEY": "s" * 64, "INTERNAL_WORKER_TOKEN": "t" * 40,
           "DB_HOST": "127.0.0.1", "DEBUG": "false", "STORAGE_BACKEND": "local"}
    result = subprocess.run([sys.executable, "-c", PROCESS, process, json.dumps(HEAVY)], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize(("process", "kinds"), [("messaging", ["message_send"]), ("video", ["video_transcode"])])
def test_base_only_images_run_processes_that_import_no_heavy_library(process, kinds):
    assert _imports(process) == {"kinds": kinds, "heavy": []}


def test_the_ai_image_fleets_do_import_them():
    # The same check sees the libraries where they are used: the ai and excel fleets, both in academy-ai-worker-cpu.
    ai, excel = _imports("ai"), _imports("excel")

    assert ai["kinds"] == ["ocr", "omr_grading"]
    assert {"cv2", "numpy", "PIL", "pypdfium2", "pytesseract"} <= set(ai["heavy"])
    assert excel["kinds"] == ["exam_results_export", "excel_export", "excel_import"]
    assert {"openpyxl", "python_calamine"} <= set(excel["heavy"])
