"""Opt-in error tracking (Sentry) that sends no personal data: academies hold minors' names and their parents' phones.

scrub_event and scrub_breadcrumb are pure functions over Sentry's event and breadcrumb dicts, applied last before
anything leaves the process. What leaves: exception types, stack frames without their local variables, log event
names, request method and path, ids. What does not: request bodies, cookies, auth and internal-token headers, query
values, user details beyond the id, message texts and log arguments; in the text that remains, phone numbers,
e-mail addresses, Hangul (names are written in it) and the values Postgres quotes in its error details are masked.
"""

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from apps.core.logging import PHONE_IN_TEXT

FILTERED = "[Filtered]"
# Mobile numbers as staff write them: 01012345678, 010-1234-5678, 010 1234 5678, +82 10-1234-5678, 82-10-....
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]+")
# Postgres: "Key (tenant_id, parent_phone)=(1, 01012345678) already exists." keeps the columns, not the values.
_PG_KEY_VALUES = re.compile(r"\)=\([^)]*\)")
# Keys whose values are personal or secret wherever they appear (log extras, breadcrumb data, contexts set by code).
_SENSITIVE_KEY_PARTS = ("name", "phone", "school", "grade", "birth", "address", "email", "text", "body", "content",
                        "message", "memo", "note", "password", "secret", "token", "key", "auth", "cookie", "session",
                        "csrf", "dsn", "argv", "env")
_QUERY_KEYS = ("query_string", "http.query", "query")
# Contexts the SDK fills itself (runtime name, OS version, trace ids): text-masked only, their keys are not personal.
_SDK_CONTEXTS = frozenset({"runtime", "os", "device", "app", "trace", "culture", "response", "cloud_resource"})
# Request headers worth keeping; every other one (Authorization, Cookie, X-Internal-Token, X-Forwarded-For...) goes.
_SAFE_HEADERS = frozenset({"host", "user-agent", "accept", "accept-language", "content-type", "content-length",
                           "x-forwarded-proto", "x-request-id"})


def mask_text(text: str) -> str:
    text = _PG_KEY_VALUES.sub(f")=({FILTERED})", text)
    text = PHONE_IN_TEXT.sub(FILTERED, text)
    text = _EMAIL.sub(FILTERED, text)
    return _HANGUL.sub(FILTERED, text)


def mask_query(query: Any) -> str:
    """a=1&search=010... → a=[Filtered]&search=[Filtered]: the parameter names tell what was asked, not the values."""
    if isinstance(query, dict):
        pairs = list(query.items())
    elif isinstance(query, (list, tuple)):
        pairs = [tuple(pair) for pair in query if isinstance(pair, (list, tuple)) and len(pair) == 2]
    else:
        pairs = parse_qsl(str(query), keep_blank_values=True)
    return "&".join(f"{mask_text(str(name))}={FILTERED}" for name, _ in pairs)


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, mask_text(parts.path), mask_query(parts.query), ""))


def scrub_data(value: Any, key: str = "") -> Any:
    """Any value: sensitive keys filtered, query strings reduced to names, text masked, other objects as masked text."""
    lowered = key.lower()
    if lowered in _QUERY_KEYS:
        return mask_query(value) if value else value
    if lowered == "url" and isinstance(value, str):
        return mask_url(value)
    if any(part in lowered for part in _SENSITIVE_KEY_PARTS):
        return FILTERED
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dict):
        return {k: scrub_data(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [scrub_data(item, key) for item in value]
    return mask_text(value if isinstance(value, str) else str(value))


def _scrub_request(request: dict) -> dict:
    kept: dict[str, Any] = {}
    if "method" in request:
        kept["method"] = request["method"]
    if request.get("url"):
        kept["url"] = mask_url(str(request["url"]))
    if request.get("query_string"):
        kept["query_string"] = mask_query(request["query_string"])
    headers = request.get("headers")
    if isinstance(headers, dict):
        kept["headers"] = {name: mask_text(str(value)) for name, value in headers.items()
                           if str(name).lower() in _SAFE_HEADERS}
    # data (the body), cookies and env (addresses) are dropped whole.
    return kept


def _scrub_stacktrace(stacktrace: dict) -> dict:
    frames = [{k: v for k, v in frame.items() if k != "vars"} for frame in stacktrace.get("frames") or []]
    return {**stacktrace, "frames": frames}


def _scrub_exception_value(value: dict) -> dict:
    value = dict(value)
    if isinstance(value.get("value"), str):
        value["value"] = mask_text(value["value"])
    if isinstance(value.get("stacktrace"), dict):
        value["stacktrace"] = _scrub_stacktrace(value["stacktrace"])
    return value


def _scrub_sdk_context(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub_sdk_context(v) for k, v in value.items()}
    return mask_text(value) if isinstance(value, str) else value


def _scrub_logentry(logentry: dict) -> dict:
    # The template is the event name (logs here are `logger.info("job_started", extra=...)`); the arguments and the
    # formatted text carry the values, so only the masked template is kept.
    template = mask_text(str(logentry.get("message") or ""))
    return {"message": template, "formatted": template, "params": []}


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry before_send: returns a copy of the event holding no personal data."""
    scrubbed = dict(event)
    if isinstance(event.get("request"), dict):
        scrubbed["request"] = _scrub_request(event["request"])
    if "user" in event:
        user_id = (event.get("user") or {}).get("id")
        scrubbed["user"] = {"id": user_id} if user_id is not None else {}
    if isinstance(event.get("logentry"), dict):
        scrubbed["logentry"] = _scrub_logentry(event["logentry"])
    if isinstance(event.get("message"), str):
        scrubbed["message"] = mask_text(event["message"])
    for section in ("exception", "threads"):
        values = (event.get(section) or {}).get("values") if isinstance(event.get(section), dict) else None
        if values is not None:
            scrubbed[section] = {**event[section], "values": [_scrub_exception_value(v) for v in values]}
    for section in ("extra", "tags"):
        if isinstance(event.get(section), dict):
            scrubbed[section] = {k: scrub_data(v, str(k)) for k, v in event[section].items()}
    if isinstance(event.get("contexts"), dict):
        scrubbed["contexts"] = {name: _scrub_sdk_context(value) if name in _SDK_CONTEXTS else scrub_data(value, name)
                                for name, value in event["contexts"].items()}
    if isinstance(event.get("transaction"), str):
        scrubbed["transaction"] = mask_text(event["transaction"])
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict) and isinstance(breadcrumbs.get("values"), list):
        scrubbed["breadcrumbs"] = {**breadcrumbs, "values": [scrub_breadcrumb(c) for c in breadcrumbs["values"]]}
    elif isinstance(breadcrumbs, list):
        scrubbed["breadcrumbs"] = [scrub_breadcrumb(c) for c in breadcrumbs]
    return scrubbed


def scrub_breadcrumb(crumb: dict, hint: dict | None = None) -> dict:
    """Sentry before_breadcrumb: log lines, SQL statements and outgoing HTTP calls, without their values."""
    scrubbed = dict(crumb)
    if isinstance(crumb.get("message"), str):
        scrubbed["message"] = mask_text(crumb["message"])
    if isinstance(crumb.get("data"), dict):
        # SQL parameters (db.params) are row values; the statement itself has placeholders.
        data = {k: v for k, v in crumb["data"].items() if k not in ("db.params", "params")}
        scrubbed["data"] = {k: scrub_data(v, str(k)) for k, v in data.items()}
    return scrubbed


def init_error_tracking(*, dsn: str, environment: str, release: str) -> bool:
    """Start Sentry for this process when a DSN is configured; returns whether it did."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
    )
    return True


def flush_error_tracking(timeout: float = 2.0) -> None:
    """Send what is queued before a process ends with os._exit, which skips Sentry's own exit hook."""
    import sentry_sdk

    if sentry_sdk.get_client().is_active():
        sentry_sdk.flush(timeout=timeout)
