"""`make deps-audit`: known vulnerabilities in the locked requirements, by pip-audit.

Usage: python scripts/deps_audit.py [requirements/dev.txt ...]

pip-audit asks a vulnerability service about each pinned version: PyPI's JSON API, else OSV. When neither answers
(a machine that reaches only a package mirror: the mirror serves the simple index, not the JSON API), nothing can be
audited: this says so and exits 0, so `make` on such a machine goes on; run it where PyPI or OSV answers (CI).
Exit 1 when pip-audit finds a vulnerability (or fails), 0 otherwise.
"""

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REQUIREMENTS = ["requirements/dev.txt"]  # dev.txt holds every version the images install, and the tools
PROBE_TIMEOUT_SECONDS = 10
# One request each that a working service answers with JSON: PyPI's JSON API for one release (what pip-audit asks;
# a mirror may serve a project's page and still answer 404 here), OSV's query endpoint.
PYPI_PROBE = "https://pypi.org/pypi/pip/20.0/json"
OSV_PROBE = "https://api.osv.dev/v1/query"


def _answers_json(request: urllib.request.Request) -> str:
    """Empty when the URL answers 200 with a JSON object, else why not."""
    try:
        # The two probes are https constants, never a caller's URL.
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_SECONDS) as response:  # noqa: S310
            if not isinstance(json.loads(response.read()), dict):
                return "answered something other than a JSON object"
            return ""
    except urllib.error.HTTPError as exc:
        return f"answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"unreachable ({type(exc).__name__})"


def reachable_service() -> tuple[str, list[str]]:
    """("pypi" | "osv" | "", why each service that failed did)."""
    why = []
    pypi = _answers_json(urllib.request.Request(PYPI_PROBE))
    if not pypi:
        return "pypi", why
    why.append(f"PyPI JSON API {pypi}")
    body = json.dumps({"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "20.0"}).encode()
    osv = _answers_json(urllib.request.Request(OSV_PROBE, data=body, headers={"Content-Type": "application/json"}))
    if not osv:
        return "osv", why
    why.append(f"OSV {osv}")
    return "", why


def audit_command(service: str, requirements: list[str]) -> list[str]:
    command = [sys.executable, "-m", "pip_audit", "--vulnerability-service", service, "--require-hashes",
               "--disable-pip", "--progress-spinner", "off"]
    for path in requirements:
        command += ["-r", path]
    return command


def main(argv: list[str] | None = None) -> int:
    requirements = (sys.argv[1:] if argv is None else argv) or DEFAULT_REQUIREMENTS
    try:
        import pip_audit  # noqa: F401
    except ImportError:
        print("deps-audit: pip-audit is not installed (it is in requirements/dev.txt: make install)", file=sys.stderr)
        return 1
    service, why = reachable_service()
    if not service:
        print("deps-audit: no vulnerability service answers here (" + "; ".join(why) + "): nothing was audited. "
              "Run `make deps-audit` where pypi.org or api.osv.dev is reachable.")
        return 0
    print(f"deps-audit: asking {service} about {', '.join(requirements)}", flush=True)
    return subprocess.run(audit_command(service, requirements), cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
