"""Write the production environment file from a laptop's .env, merging into the one that exists (docs/deploy.md §7).

Usage: python scripts/prepare_deploy_env.py -i .env -o .env.deploy [--validate]

Every X_RDS key replaces X and is not written (the laptop keeps its DB_HOST next to the production DB_HOST_RDS);
AWS_ACCOUNT_ID and ECR_REGISTRY (build only) are not written. A key the output already holds is never lost: the
output is the existing file updated by the input. Prints what was added, changed, kept and left out, by name only.
Writes with mode 0600 and a do-not-commit header. --validate then loads the production settings (API and worker
profiles) on the written file alone and exits 1 naming every problem they refuse.
Exit 0 when written (and valid), 1 when refused by --validate, 2 when the input cannot be read.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The settings modules whose start-up checks --validate runs: the API's and the workers' (checks.py).
VALIDATED_SETTINGS = ("apps.api.config.settings.prod", "apps.api.config.settings.worker")


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with a file only its owner can read (0600 from its creation on)."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(draft, 0o600)
        os.replace(draft, path)
    finally:
        if draft.exists():
            draft.unlink()


def validate(path: Path) -> list[str]:
    """The production settings' refusals for the file (empty when both profiles load), each profile in its own
    clean process: only PATH and the file reach it, so the laptop's environment cannot hide a missing key."""
    refusals = []
    for module in VALIDATED_SETTINGS:
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ENV_FILE": str(path.resolve()),
                       "SENTRY_DSN": ""}
        code = ("import importlib, sys\n"
                "from django.core.exceptions import ImproperlyConfigured\n"
                "try:\n"
                f"    importlib.import_module({module!r})\n"
                "except ImproperlyConfigured as exc:\n"
                "    print(exc)\n"
                "    sys.exit(1)\n")
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True,
                              text=True, timeout=60)
        if done.returncode != 0:
            lines = (done.stdout or done.stderr).strip().splitlines()
            refusals.append(f"{module.rsplit('.', 1)[-1]}: {lines[-1] if lines else 'failed'}")
    return refusals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write .env.deploy from a laptop's .env, keeping every key it has.")
    parser.add_argument("-i", "--input", type=Path, required=True, help="the laptop's file (e.g. .env)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the production file (e.g. .env.deploy)")
    parser.add_argument("--validate", action="store_true", help="then run the production settings' checks on it")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from apps.core.deploy_env import DeployEnvError, parse_dotenv, prepare, render

    try:
        laptop = parse_dotenv(args.input.read_text(encoding="utf-8"), source=str(args.input))
        existing = (parse_dotenv(args.output.read_text(encoding="utf-8"), source=str(args.output))
                    if args.output.exists() else {})
        merged, report = prepare(laptop, existing)
        text = render(merged, source=args.input.name)
    except (OSError, DeployEnvError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    write_private(args.output, text)
    print(f"wrote {args.output} ({len(merged)} keys, mode 0600)")
    for line in report.lines():
        print(f"  {line}")
    if args.validate:
        refusals = validate(args.output)
        if refusals:
            print("production settings refuse it:")
            for refusal in refusals:
                print(f"  {refusal}")
            return 1
        print("production settings accept it (API and workers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
