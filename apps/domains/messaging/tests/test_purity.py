import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
CORES = ["apps.domains.messaging.encoding", "apps.domains.messaging.rendering", "apps.domains.messaging.rules"]


def test_the_messaging_cores_import_without_django():
    # Given a fresh interpreter without Django settings
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    script = (
        "import importlib, json, sys\n"
        f"for name in {CORES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps({'cores': sorted(name for name in sys.modules if name.startswith('apps.domains.messaging.')),"
        " 'django': sorted(name for name in sys.modules if name.split('.')[0] in ('django', 'rest_framework'))}))\n"
    )

    completed = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=environment, capture_output=True,
                               text=True, timeout=60, check=True)

    loaded = json.loads(completed.stdout)
    assert loaded["django"] == []
    assert set(CORES) <= set(loaded["cores"])
