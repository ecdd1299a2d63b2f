"""Start-up checks of the production settings: every missing or unsafe variable, named at once.

Two profiles. The API (prod.py) needs everything. A worker (worker.py: the SQS fleets and the video Batch
entrypoint) calls the internal API with INTERNAL_WORKER_TOKEN but never receives the scaling Lambda's calls, so it
starts without LAMBDA_INTERNAL_API_KEY, and it serves no HTTP, so it needs no ALLOWED_HOSTS.
"""

from typing import Any

from django.core.exceptions import ImproperlyConfigured

API = "api"
WORKER = "worker"
# Django's own deploy check (security.W009) wants 50 characters; the shared tokens at least 32 (token_urlsafe(32)).
MIN_SECRET_KEY_LENGTH = 50
MIN_TOKEN_LENGTH = 32
REQUIRED_NON_EMPTY = {API: ["DB_HOST", "ALLOWED_HOSTS"], WORKER: ["DB_HOST"]}
REQUIRED_TOKENS = {API: ["INTERNAL_WORKER_TOKEN", "LAMBDA_INTERNAL_API_KEY"], WORKER: ["INTERNAL_WORKER_TOKEN"]}
REQUIRED_FOR_R2 = ["R2_ENDPOINT_URL", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"]
REQUIRED_FOR_SOLAPI = ["SOLAPI_API_KEY", "SOLAPI_API_SECRET"]
REFUSAL_PREFIX = "프로덕션 설정 오류 (production settings refused): "


def secret_problem(name: str, value: Any, min_length: int) -> str | None:
    """Why `value` is not a usable secret (blank, or shorter than `min_length` once stripped), else None."""
    stripped = str(value or "").strip()
    if not stripped:
        return f"{name} is required"
    if len(stripped) < min_length:
        return f"{name} is shorter than {min_length} characters"
    return None


def production_problems(settings: dict[str, Any], *, profile: str) -> list[str]:
    problems = []
    if settings.get("DEBUG"):
        problems.append("DEBUG must be off")
    problems += [f"{name} is required" for name in REQUIRED_NON_EMPTY[profile] if not settings.get(name)]
    secrets = [("SECRET_KEY", MIN_SECRET_KEY_LENGTH)] + [(name, MIN_TOKEN_LENGTH) for name in REQUIRED_TOKENS[profile]]
    problems += [p for name, length in secrets if (p := secret_problem(name, settings.get(name), length))]
    if settings.get("STORAGE_BACKEND") == "r2":
        problems += [f"{name} is required" for name in REQUIRED_FOR_R2 if not settings.get(name)]
    if settings.get("MESSAGING_PROVIDER") == "solapi":
        problems += [f"{name} is required" for name in REQUIRED_FOR_SOLAPI if not settings.get(name)]
    # Blank turns the delivery-report webhook off; a set secret is the webhook's only credential.
    webhook_secret = str(settings.get("MESSAGING_WEBHOOK_SECRET") or "").strip()
    if webhook_secret and len(webhook_secret) < MIN_TOKEN_LENGTH:
        problems.append(f"MESSAGING_WEBHOOK_SECRET is shorter than {MIN_TOKEN_LENGTH} characters")
    return problems


def refuse_unsafe_start(settings: dict[str, Any], *, profile: str) -> None:
    problems = production_problems(settings, profile=profile)
    if problems:
        raise ImproperlyConfigured(REFUSAL_PREFIX + "; ".join(problems))
