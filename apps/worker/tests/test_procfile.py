"""`make run` (scripts/Procfile.dev) starts a worker for every fleet whose jobs the embedded stack produces."""

import shlex

from django.core.management import get_commands

from apps.jobs.fleets import fleet_names
from apps.worker.tests.support import REPO_ROOT


def _processes() -> dict[str, list[str]]:
    lines = (REPO_ROOT / "scripts" / "Procfile.dev").read_text().splitlines()
    return {name.strip(): shlex.split(command) for name, command in
            (line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))}


def test_make_run_starts_the_excel_and_messaging_workers_and_the_scheduler():
    processes = _processes()

    assert processes["worker_excel"][-2:] == ["run_worker", "excel"]
    assert processes["worker_messaging"][-2:] == ["run_worker", "messaging"]
    assert processes["scheduler"][-1] == "run_scheduler"


def test_every_process_is_a_management_command_that_exists():
    commands = get_commands()
    for name, argv in _processes().items():
        assert argv[:2] == [".venv/bin/python", "manage.py"], name
        assert argv[2] in commands, name
        if argv[2] == "run_worker":
            assert argv[3] in fleet_names(), name
