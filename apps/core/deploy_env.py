"""The deploy environment file (docs/deploy.md §7), pure: parse a dotenv file, turn a laptop's .env into the
production one, merge it into the existing .env.deploy without losing a key, render it. No Django import.

The reader of these files is django-environ (the settings' ENV_FILE) and `docker run --env-file`; parsing follows
django-environ: `[export ]KEY=VALUE` lines, blank lines and `#` comment lines; a value wrapped in single quotes is
taken as is, one in double quotes with its backslash escapes; anything else, `#` and `=` included, is the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

RDS_SUFFIX = "_RDS"
# Used to build and push the images, never read by a running process.
BUILD_ONLY_KEYS = frozenset({"AWS_ACCOUNT_ID", "ECR_REGISTRY"})
HEADER = (
    "# Production environment for academy, written by scripts/prepare_deploy_env.py from {source}.\n"
    "# DO NOT COMMIT: it holds production secrets (.gitignore lists .env.deploy). Mode 0600.\n"
    "# Re-run the script to update it: a key only this file has is kept, never dropped.\n"
)
_LINE = re.compile(r"\A(?:export )?([A-Za-z_0-9]+)=(.*)\Z")
_PLAIN = re.compile(r"\A[^'\"\n\r][^\n\r]*\Z")


class DeployEnvError(ValueError):
    """The file cannot be read without guessing (a line that is not KEY=VALUE), or a value cannot be written."""


def parse_dotenv(text: str, *, source: str = "input") -> dict[str, str]:
    """KEY -> value in file order; a key given twice keeps its last value, as the settings would read it."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise DeployEnvError(f"{source} line {number} is not KEY=VALUE")
        key, value = match.groups()
        single = re.match(r"\A'(.*)'\Z", value)
        double = re.match(r'\A"(.*)"\Z', value)
        if single:
            value = single.group(1)
        elif double:
            value = re.sub(r"\\(.)", lambda m: "\\" + m.group(1) if m.group(1) in "rnt" else m.group(1),
                           double.group(1))
        values.pop(key, None)
        values[key] = value
    return values


def production_values(laptop: dict[str, str]) -> dict[str, str]:
    """Every X_RDS value replaces X and is dropped; build-only keys are dropped."""
    values = {key: value for key, value in laptop.items()
              if key not in BUILD_ONLY_KEYS and not key.endswith(RDS_SUFFIX)}
    for key, value in laptop.items():
        if key.endswith(RDS_SUFFIX) and key != RDS_SUFFIX and key[:-len(RDS_SUFFIX)] not in BUILD_ONLY_KEYS:
            values[key[:-len(RDS_SUFFIX)]] = value
    return values


@dataclass
class MergeReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # only in the existing file: kept as it was
    unchanged: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # from the input: build-only keys and X_RDS (moved to X)

    def lines(self) -> list[str]:
        """Names only: no value is ever printed."""
        out = []
        for label, names in (("added", self.added), ("changed", self.changed),
                             ("kept (only in the existing file)", self.kept), ("not written", self.dropped)):
            out.append(f"{label}: {', '.join(names) if names else '-'}")
        out.append(f"unchanged: {len(self.unchanged)}")
        return out


def merge(existing: dict[str, str], incoming: dict[str, str]) -> tuple[dict[str, str], MergeReport]:
    """The existing file updated by `incoming`: every existing key stays (in its place), new keys follow."""
    report = MergeReport()
    merged = dict(existing)
    for key, value in incoming.items():
        if key not in existing:
            report.added.append(key)
        elif existing[key] != value:
            report.changed.append(key)
        else:
            report.unchanged.append(key)
        merged[key] = value
    report.kept = [key for key in existing if key not in incoming]
    return merged, report


def prepare(laptop: dict[str, str], existing: dict[str, str]) -> tuple[dict[str, str], MergeReport]:
    incoming = production_values(laptop)
    merged, report = merge(existing, incoming)
    report.dropped = [key for key in laptop if key not in incoming]
    return merged, report


def render_value(key: str, value: str) -> str:
    """Unquoted whenever the settings and `docker run --env-file` read it alike (almost always); quoted otherwise."""
    if "\n" in value or "\r" in value:
        raise DeployEnvError(f"{key}: a value cannot hold a line break")
    if value == "" or _PLAIN.match(value):
        return value
    if "'" not in value:
        return f"'{value}'"
    return '"' + re.sub(r'(["\\])', r"\\\1", value) + '"'


def render(values: dict[str, str], *, source: str) -> str:
    return HEADER.format(source=source) + "".join(f"{key}={render_value(key, value)}\n"
                                                 for key, value in values.items())


# ---------------------------------------------------------------------------------------------------- SSM paths
# Where the estate reads the environment (infra/cloudformation/compute.yaml and batch.yaml, docs/deploy.md §7): every
# variable under the API's path (API and scheduler) and the fleets' path, and the Batch job's five secrets under its.
SSM_API_PATH = "/academy/api/"
SSM_WORKER_PATH = "/academy/worker/"
SSM_VIDEO_WORKER_PATH = "/academy/video-worker/"
VIDEO_WORKER_SECRETS = ("SECRET_KEY", "INTERNAL_WORKER_TOKEN", "DB_PASSWORD", "R2_ACCESS_KEY_ID",
                        "R2_SECRET_ACCESS_KEY")
# Only the API checks the Lambda's key: the fleets never get it.
API_ONLY_KEYS = frozenset({"LAMBDA_INTERNAL_API_KEY"})


def ssm_parameters(values: dict[str, str], *, worker_api_base_url: str) -> dict[str, str]:
    """Parameter name -> value for the whole estate, from one `.env.deploy`.

    The fleets reach the API by the internal load balancer (`worker_api_base_url`), not by its public name; a
    Batch secret the file lacks is left out (the readiness check and the job definition name it)."""
    parameters = {f"{SSM_API_PATH}{key}": value for key, value in values.items()}
    worker = {key: value for key, value in values.items() if key not in API_ONLY_KEYS}
    worker["API_BASE_URL"] = worker_api_base_url
    parameters.update({f"{SSM_WORKER_PATH}{key}": value for key, value in worker.items()})
    parameters.update({f"{SSM_VIDEO_WORKER_PATH}{key}": values[key] for key in VIDEO_WORKER_SECRETS if key in values})
    return parameters
