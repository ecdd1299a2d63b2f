"""ARCHITECTURE §3: creates (or updates) every SQS work queue with its DLQ and redrive policy. Idempotent.

Each queue's visibility timeout is its fleet's, from the fleet table (apps/jobs/fleets.py, settings.WORKER_FLEETS).

Usage: python scripts/create_sqs_resources.py [region]
Settings come from the environment through DJANGO_SETTINGS_MODULE (default: the dev settings).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1 or (argv and argv[0] in ("-h", "--help")):
        print(__doc__)
        return 2
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apps.api.config.settings.dev")
    import django

    django.setup()
    from apps.integrations.queues import QueueError, sqs_ensure_queues

    try:
        queues = sqs_ensure_queues(argv[0] if argv else None)
    except QueueError as exc:
        print(f"SQS refused: {exc}", file=sys.stderr)
        return 1
    for name, url in queues:
        print(f"{name}\t{url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
