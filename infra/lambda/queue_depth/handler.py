"""The queue-depth metric Lambda (docs/deploy.md §13), run every minute by EventBridge.

Publishes to CloudWatch (`METRIC_NAMESPACE`, default `Academy/Workers`) one `QueueDepth` datum per fleet, dimension
`Fleet=<name>`: an SQS fleet's visible messages summed over its queues, and for `video` the transcode backlog read from
`GET /api/v1/internal/video/backlog-count/` with `X-Internal-Key`. The API is called by its private address (the
internal load balancer's DNS name) with no Host override: the API pins the Host of internal paths itself
(apps/core/middleware.py). A fleet whose read fails publishes nothing, never a zero, and one JSON log line says why
(never the key). Plain boto3 and urllib: no Django, nothing to package but this file.

Environment:
  FLEET_QUEUES             JSON {"<fleet>": ["<queue name>", ...]}, from the fleet table (settings.WORKER_FLEETS)
  INTERNAL_API_URL         e.g. http://internal-academy-prod-api-123.ap-northeast-2.elb.amazonaws.com
  INTERNAL_KEY_PARAMETER   SSM SecureString parameter holding LAMBDA_INTERNAL_API_KEY (read once per container)
  INTERNAL_KEY             the key itself, only when no parameter is named (local runs)
  METRIC_NAMESPACE         default Academy/Workers
  HTTP_TIMEOUT_SECONDS     default 5
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import boto3

METRIC_NAME = "QueueDepth"
VIDEO_FLEET = "video"
BACKLOG_PATH = "/api/v1/internal/video/backlog-count/"

# The key, read from SSM once per container; dropped when the API refuses it, so a rotated key is read again.
_key_cache: dict[str, str] = {}


def log(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}, sort_keys=True))


def handler(event=None, context=None) -> dict:
    environ = os.environ
    fleets = json.loads(environ.get("FLEET_QUEUES") or "{}")
    sqs = boto3.client("sqs")
    published: dict[str, int] = {}
    for fleet, queues in sorted(fleets.items()):
        depth = fleet_depth(sqs, fleet, queues)
        if depth is not None:
            published[fleet] = depth
    backlog = video_backlog(environ)
    if backlog is not None:
        published[VIDEO_FLEET] = backlog
    if published:
        namespace = environ.get("METRIC_NAMESPACE") or "Academy/Workers"
        boto3.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=[
            {"MetricName": METRIC_NAME, "Dimensions": [{"Name": "Fleet", "Value": fleet}], "Value": float(value),
             "Unit": "Count"}
            for fleet, value in sorted(published.items())
        ])
    log("queue_depth_published", values=published)
    return {"published": published}


def fleet_depth(sqs, fleet: str, queues: list[str]) -> int | None:
    """Visible messages of the fleet's queues, or None (logged) when any of them cannot be read."""
    if not queues:
        log("queue_depth_read_failed", fleet=fleet, reason="no queues configured")
        return None
    total = 0
    for queue in queues:
        try:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            total += int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        except Exception as exc:  # any failure: this fleet publishes nothing this minute
            log("queue_depth_read_failed", fleet=fleet, queue=queue, reason=_reason(exc))
            return None
    return total


def video_backlog(environ) -> int | None:
    """The transcode backlog from the API, or None (logged) when it cannot be read."""
    base_url = (environ.get("INTERNAL_API_URL") or "").rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        log("queue_depth_read_failed", fleet=VIDEO_FLEET, reason="INTERNAL_API_URL is not an http(s) URL")
        return None
    try:
        key = internal_key(environ)
    except Exception as exc:
        log("queue_depth_read_failed", fleet=VIDEO_FLEET, reason=f"internal key unreadable: {_reason(exc)}")
        return None
    request = urllib.request.Request(base_url + BACKLOG_PATH,  # noqa: S310 (http or https, checked above)
                                     headers={"X-Internal-Key": key, "Accept": "application/json"})
    timeout = float(environ.get("HTTP_TIMEOUT_SECONDS") or 5)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(4096)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            _key_cache.clear()
        log("queue_depth_read_failed", fleet=VIDEO_FLEET, reason=f"HTTP {exc.code}")
        return None
    except Exception as exc:
        log("queue_depth_read_failed", fleet=VIDEO_FLEET, reason=_reason(exc))
        return None
    try:
        backlog = json.loads(body)["backlog"]
    except (ValueError, KeyError, TypeError):
        backlog = None
    if isinstance(backlog, bool) or not isinstance(backlog, int) or backlog < 0:
        log("queue_depth_read_failed", fleet=VIDEO_FLEET, reason="answer without a backlog count")
        return None
    return backlog


def internal_key(environ) -> str:
    parameter = environ.get("INTERNAL_KEY_PARAMETER") or ""
    if not parameter:
        key = (environ.get("INTERNAL_KEY") or "").strip()
        if not key:
            raise LookupError("neither INTERNAL_KEY_PARAMETER nor INTERNAL_KEY is set")
        return key
    if parameter not in _key_cache:
        answer = boto3.client("ssm").get_parameter(Name=parameter, WithDecryption=True)
        _key_cache.clear()
        _key_cache[parameter] = answer["Parameter"]["Value"].strip()
    return _key_cache[parameter]


def _reason(exc: Exception) -> str:
    """The error's class and its AWS code or network reason: never a message that could echo what we sent."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Code"):
        return f"{type(exc).__name__} {response['Error']['Code']}"
    if isinstance(exc, urllib.error.URLError):
        return f"URLError {exc.reason}"
    return type(exc).__name__
