"""Test-only worker entrypoint: the production runtime, with the test job kinds registered."""

import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apps.api.config.settings.test")
    import django

    django.setup()
    from apps.jobs.tests.kinds import register_test_kinds
    from apps.worker.runtime import build_runtime

    register_test_kinds()
    return build_runtime(sys.argv[1]).run()


if __name__ == "__main__":
    sys.exit(main())
