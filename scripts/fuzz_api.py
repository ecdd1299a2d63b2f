"""The deeper schema fuzz: the test of `make test` (apps/core/tests/test_fuzz_schema.py) with more examples,
after the edge values of every parameter and field.

    .venv/bin/python scripts/fuzz_api.py --max-examples 200
    .venv/bin/python scripts/fuzz_api.py --max-examples 100 --negative   # only invalid input: 4xx, never 5xx

Runs through pytest on the test settings, so it gets a throwaway database and the same tenant, rows and checks.
Same examples on every run (derandomized); a failure prints each failing operation with a curl line to replay it.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "apps/core/tests/test_fuzz_schema.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=200, help="generated requests per operation")
    parser.add_argument("--negative", action="store_true", help="generate only input the schema forbids")
    parser.add_argument("--no-boundaries", action="store_true",
                        help="skip the edge values of every parameter and field (minimum, maximum, empty, ...)")
    args = parser.parse_args()
    env = {**os.environ, "FUZZ_MAX_EXAMPLES": str(args.max_examples), "FUZZ_NEGATIVE": "1" if args.negative else "",
           "FUZZ_BOUNDARIES": "" if args.no_boundaries else "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "apps.api.config.settings.test")
    command = [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:randomly", "-o", "timeout=0"]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
