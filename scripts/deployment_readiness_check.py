"""Is the deployment ready? One line per check (docs/deploy.md §11), read only; exit 0 only when nothing failed.

Usage: ENV_FILE=.env.deploy python scripts/deployment_readiness_check.py [--local] [--docker [--registry R]
       [--tag T] [--env-file F]]

Settings come from the environment (and the file ENV_FILE names, as every process reads it) through
DJANGO_SETTINGS_MODULE, by default the production API settings. When those refuse to load, the refusal is the
first FAIL line and the other checks still run on the same values without the refusal (settings.deployed).

--local   a cloud service that cannot be asked (no credentials, endpoint unreachable, no docker) is SKIP, not FAIL
--docker  also check the five images: each exists and, inside it, Django starts and its entry modules import
"""

import argparse
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_SETTINGS = "apps.api.config.settings.prod"
FALLBACK_SETTINGS = "apps.api.config.settings.deployed"


def setup_django() -> str:
    """Loads the settings; returns the production refusal ("" when they loaded as they are)."""
    import django
    from django.core.exceptions import ImproperlyConfigured

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", PRODUCTION_SETTINGS)
    try:
        django.setup()
        return ""
    except ImproperlyConfigured as exc:
        if os.environ["DJANGO_SETTINGS_MODULE"] != PRODUCTION_SETTINGS:
            raise
        os.environ["DJANGO_SETTINGS_MODULE"] = FALLBACK_SETTINGS
        if not os.environ.get("SECRET_KEY", "").strip():
            # Django cannot start without one; this process signs nothing, and the refusal above names the gap.
            os.environ["SECRET_KEY"] = "readiness-check-placeholder-" + secrets.token_urlsafe(32)
        for module in [name for name in sys.modules if name.startswith("apps.api.config.settings.")]:
            del sys.modules[module]  # read the environment again
        django.setup()
        return str(exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check that everything a release needs is in place.")
    parser.add_argument("--local", action="store_true",
                        help="unreachable cloud services and missing cloud credentials are SKIP, not FAIL")
    parser.add_argument("--docker", action="store_true", help="also check the five images")
    parser.add_argument("--registry", default="", help="image registry prefix (e.g. ECR_REGISTRY); default local")
    parser.add_argument("--tag", default="latest", help="image tag (default latest)")
    parser.add_argument("--env-file", type=Path, default=None,
                        help="environment file given to `docker run` for the image checks (e.g. .env.deploy)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    load_error = setup_django()

    from apps.integrations.readiness import DockerOptions, readiness_run

    docker = DockerOptions(registry=args.registry, tag=args.tag, env_file=args.env_file) if args.docker else None
    report = readiness_run(local=args.local, docker=docker, load_error=load_error,
                           on_result=lambda result: print(result.render(), flush=True))
    print(report.lines()[-1], flush=True)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
