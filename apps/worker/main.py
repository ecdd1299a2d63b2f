"""ARCHITECTURE §5, entrypoints: `python -m apps.worker.<fleet>` with the worker settings."""

import os
import sys


def main(fleet: str) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apps.api.config.settings.worker")
    import django

    django.setup()
    from apps.worker.runtime import build_runtime

    return build_runtime(fleet).run()


def run(fleet: str) -> None:
    sys.exit(main(fleet))
