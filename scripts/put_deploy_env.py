"""Store `.env.deploy` as the SSM parameters the estate reads (docs/deploy.md §7).

Usage: python scripts/put_deploy_env.py --env-file .env.deploy --region ap-northeast-2 \
           --worker-api-base-url http://internal-academy-prod-internal-….elb.amazonaws.com [--dry-run]

Every variable goes under /academy/api/ (API and scheduler) and /academy/worker/ (the fleets, with API_BASE_URL set
to the internal load balancer and without the Lambda's key); the Batch job's five secrets under
/academy/video-worker/. Each is a SecureString, overwritten; a parameter the file does not name is never deleted.
Prints parameter names only, never a value. Exit 0 when stored, 2 when the file cannot be read.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.core.deploy_env import DeployEnvError, parse_dotenv, ssm_parameters  # noqa: E402


def put_parameters(parameters: dict[str, str], *, region: str, client=None) -> None:
    import boto3

    client = client or boto3.client("ssm", region_name=region)
    for name, value in parameters.items():
        client.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def main(argv: list[str] | None = None, *, client=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", default=".env.deploy")
    parser.add_argument("--region", required=True)
    parser.add_argument("--worker-api-base-url", required=True,
                        help="the network stack's InternalApiBaseUrl output")
    parser.add_argument("--dry-run", action="store_true", help="print the names, store nothing")
    args = parser.parse_args(argv)
    try:
        values = parse_dotenv(Path(args.env_file).read_text(encoding="utf-8"), source=args.env_file)
    except (OSError, DeployEnvError) as exc:
        print(f"읽을 수 없습니다: {exc}", file=sys.stderr)
        return 2
    parameters = ssm_parameters(values, worker_api_base_url=args.worker_api_base_url)
    if not args.dry_run:
        put_parameters(parameters, region=args.region, client=client)
    for name in parameters:
        print(("would put " if args.dry_run else "put ") + name)
    print(f"{len(parameters)} parameters{' (dry run)' if args.dry_run else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
