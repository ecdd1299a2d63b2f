"""ARCHITECTURE §3 object storage: the CORS and lifecycle rules every R2 bucket carries, applied through the S3 API.

`bucket_rules(origins)` is the pure description (which browser origins may GET/PUT/HEAD, what expires when);
`bucket_rules_apply` compares it with what each bucket holds and writes only what differs, so running it again
changes nothing. `scripts/configure_buckets.py` is its command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from apps.integrations.storage import LOGICAL_BUCKETS, R2Storage, bucket_name

DAY = 1
# Raw video uploads live under this top-level prefix so one rule covers every academy (docs/video.md §4).
VIDEO_RAW_PREFIX = "raw/"
EXPORTS_PREFIX = "exports/"
IMPORTS_PREFIX = "imports/"
CORS_MAX_AGE_SECONDS = 3600
_NO_CORS = frozenset({"NoSuchCORSConfiguration"})
_NO_LIFECYCLE = frozenset({"NoSuchLifecycleConfiguration"})


class BucketRulesError(ValueError):
    """The rules cannot be built from what was given (an origin that is not scheme://host[:port])."""


@dataclass(frozen=True)
class BucketRules:
    cors: list[dict[str, Any]]
    lifecycle: list[dict[str, Any]]


@dataclass
class BucketChange:
    bucket: str
    cors_changed: bool
    lifecycle_changed: bool
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.cors_changed or self.lifecycle_changed


def check_origin(origin: str) -> str:
    """A browser origin exactly as it sends it: scheme://host[:port], no path, no trailing slash."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        raise BucketRulesError(f"not an origin (scheme://host[:port]): {origin!r}")
    return origin


def _expire(rule_id: str, prefix: str, days: int) -> dict[str, Any]:
    return {"ID": rule_id, "Filter": {"Prefix": prefix}, "Status": "Enabled", "Expiration": {"Days": days}}


def _abort_multipart(days: int) -> dict[str, Any]:
    return {"ID": "abort-incomplete-multipart-7d", "Filter": {"Prefix": ""}, "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days}}


def bucket_rules(*, origins: list[str]) -> dict[str, BucketRules]:
    """The rules of each logical bucket ("ai", "video", "excel", "storage") for these front-end origins."""
    if not origins:
        raise BucketRulesError("at least one front-end origin is needed (CORS_ALLOWED_ORIGINS or --origin)")
    cors = [{
        "AllowedOrigins": sorted({check_origin(origin) for origin in origins}),
        "AllowedMethods": ["GET", "HEAD", "PUT"],
        # A presigned PUT sends Content-Type; hls.js may send Range for byte-range requests.
        "AllowedHeaders": ["content-type", "range"],
        # Multipart completion needs each part's ETag, which a browser hides unless it is exposed.
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": CORS_MAX_AGE_SECONDS,
    }]
    abort = _abort_multipart(7 * DAY)
    return {
        # The HLS ladder (tenants/{t}/video/hls/…) is kept; raw uploads go after 30 days (a re-encode needs them
        # meanwhile).
        "video": BucketRules(cors, [_expire("video-raw-30d", VIDEO_RAW_PREFIX, 30 * DAY), abort]),
        # Exports are downloaded within minutes; purge_expired_exports deletes them after 24 h as well.
        "storage": BucketRules(cors, [_expire("exports-1d", EXPORTS_PREFIX, 1 * DAY), abort]),
        # An uploaded roster is deleted when its job ends; this only catches one whose job never did.
        "excel": BucketRules(cors, [_expire("imports-2d", IMPORTS_PREFIX, 2 * DAY), abort]),
        "ai": BucketRules(cors, [abort]),
    }


def _normalised_cors(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("AllowedOrigins", "AllowedMethods", "AllowedHeaders", "ExposeHeaders")
    return [
        {**{key: sorted(rule.get(key, [])) for key in keys}, "MaxAgeSeconds": rule.get("MaxAgeSeconds")}
        for rule in rules
    ]


def _normalised_lifecycle(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({key: rule[key] for key in ("ID", "Filter", "Status", "Expiration", "AbortIncompleteMultipartUpload")
          if key in rule} for rule in rules),
        key=lambda rule: rule["ID"],
    )


def bucket_rules_compare(*, adapter: R2Storage, name: str, wanted: BucketRules) -> BucketChange:
    """How bucket `name` differs from `wanted` (read only: the readiness check calls this too)."""
    current_cors = adapter._call("get_bucket_cors", adapter.client.get_bucket_cors, Bucket=name,
                                 ignore_codes=_NO_CORS)
    current_lifecycle = adapter._call(
        "get_bucket_lifecycle_configuration", adapter.client.get_bucket_lifecycle_configuration, Bucket=name,
        ignore_codes=_NO_LIFECYCLE,
    )
    have_cors = (current_cors or {}).get("CORSRules", [])
    have_lifecycle = (current_lifecycle or {}).get("Rules", [])
    change = BucketChange(
        bucket=name,
        cors_changed=_normalised_cors(have_cors) != _normalised_cors(wanted.cors),
        lifecycle_changed=_normalised_lifecycle(have_lifecycle) != _normalised_lifecycle(wanted.lifecycle),
    )
    wanted_ids = {rule["ID"] for rule in wanted.lifecycle}
    change.notes += [f"replaces lifecycle rule {rule.get('ID', '?')!r}" for rule in have_lifecycle
                     if rule.get("ID") not in wanted_ids]
    return change


def bucket_rules_apply(*, rules: dict[str, BucketRules], dry_run: bool = False,
                       client=None) -> list[BucketChange]:
    """Write each bucket's CORS and lifecycle rules where they differ from the desired ones; returns what differed.

    Lifecycle rules the bucket holds under other ids are reported and replaced: the repository is the one
    description of a bucket's rules.
    """
    adapter = R2Storage(client=client)
    changes = []
    for logical in LOGICAL_BUCKETS:
        wanted = rules[logical]
        name = bucket_name(logical)
        change = bucket_rules_compare(adapter=adapter, name=name, wanted=wanted)
        if not dry_run and change.cors_changed:
            adapter._call("put_bucket_cors", adapter.client.put_bucket_cors, Bucket=name,
                          CORSConfiguration={"CORSRules": wanted.cors})
        if not dry_run and change.lifecycle_changed:
            adapter._call("put_bucket_lifecycle_configuration", adapter.client.put_bucket_lifecycle_configuration,
                          Bucket=name, LifecycleConfiguration={"Rules": wanted.lifecycle})
        changes.append(change)
    return changes
