"""Start-up checks for production-like settings: every missing or unsafe variable, named at once."""

from typing import Any

REQUIRED_NON_EMPTY = ["SECRET_KEY", "INTERNAL_WORKER_TOKEN", "DB_HOST", "ALLOWED_HOSTS"]
REQUIRED_FOR_R2 = ["R2_ENDPOINT_URL", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"]


def production_problems(settings: dict[str, Any]) -> list[str]:
    from .base import INSECURE_DEFAULT_SECRET_KEY

    problems = []
    if settings.get("DEBUG"):
        problems.append("DEBUG must be off")
    for name in REQUIRED_NON_EMPTY:
        if not settings.get(name):
            problems.append(f"{name} is required")
    if settings.get("SECRET_KEY") == INSECURE_DEFAULT_SECRET_KEY:
        problems.append("SECRET_KEY is the insecure default")
    elif settings.get("SECRET_KEY") and len(settings["SECRET_KEY"]) < 32:
        problems.append("SECRET_KEY is shorter than 32 characters")
    if settings.get("STORAGE_BACKEND") == "r2":
        problems += [f"{name} is required" for name in REQUIRED_FOR_R2 if not settings.get(name)]
    return problems
