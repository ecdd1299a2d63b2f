"""ARCHITECTURE §3: applies each R2 bucket's CORS rule and lifecycle rules through the S3 API. Idempotent.

Usage: python scripts/configure_buckets.py [--dry-run] [--origin https://admin.example.com ...]

Origins default to CORS_ALLOWED_ORIGINS. Buckets, endpoint and credentials come from the R2_* settings, read from
the environment through DJANGO_SETTINGS_MODULE (default: the dev settings). Prints one line per bucket:
`<bucket> cors=<changed|unchanged> lifecycle=<changed|unchanged>`; exit 1 when a rule cannot be built or written.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply CORS and lifecycle rules to every R2 bucket.")
    parser.add_argument("--origin", action="append", default=None,
                        help="front-end origin allowed by CORS (repeatable; default CORS_ALLOWED_ORIGINS)")
    parser.add_argument("--dry-run", action="store_true", help="report what differs, write nothing")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apps.api.config.settings.dev")
    import django

    django.setup()
    from django.conf import settings

    from apps.integrations.bucket_rules import BucketRulesError, bucket_rules, bucket_rules_apply
    from apps.integrations.storage import StorageError

    try:
        rules = bucket_rules(origins=args.origin or list(settings.CORS_ALLOWED_ORIGINS))
        changes = bucket_rules_apply(rules=rules, dry_run=args.dry_run)
    except (BucketRulesError, StorageError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    verb = "would change" if args.dry_run else "changed"
    for change in changes:
        state = {True: verb, False: "unchanged"}
        print(f"{change.bucket} cors={state[change.cors_changed]} lifecycle={state[change.lifecycle_changed]}")
        for note in change.notes:
            print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
