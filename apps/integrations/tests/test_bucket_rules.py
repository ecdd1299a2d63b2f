"""The buckets' CORS and lifecycle rules, applied on moto S3: what a bucket ends up holding, and idempotence."""

import boto3
import pytest

from apps.integrations.bucket_rules import BucketRulesError, bucket_rules, bucket_rules_apply
from apps.integrations.storage import LOGICAL_BUCKETS

from .conftest import AWS_REGION

ORIGINS = ["https://admin.example.com", "http://localhost:5173"]


@pytest.fixture
def s3(r2_storage):
    """The four buckets on moto (made by r2_storage), seen through a plain S3 client."""
    return boto3.client("s3", region_name=AWS_REGION)


def _expirations(client, bucket: str) -> dict[str, tuple[str, int | None]]:
    rules = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    return {rule["ID"]: (rule["Filter"].get("Prefix", ""), rule.get("Expiration", {}).get("Days")) for rule in rules}


def test_every_bucket_gets_the_front_end_cors_rule(s3, settings):
    # When
    changes = bucket_rules_apply(rules=bucket_rules(origins=ORIGINS))

    # Then
    assert [c.bucket for c in changes if c.cors_changed] == [getattr(settings, s) for s in LOGICAL_BUCKETS.values()]
    (rule,) = s3.get_bucket_cors(Bucket=settings.R2_BUCKET_VIDEO)["CORSRules"]
    assert sorted(rule["AllowedOrigins"]) == sorted(ORIGINS)
    assert sorted(rule["AllowedMethods"]) == ["GET", "HEAD", "PUT"]
    assert rule["ExposeHeaders"] == ["ETag"]
    assert "content-type" in rule["AllowedHeaders"]


def test_lifecycle_expires_raw_video_exports_and_stale_imports_but_keeps_the_hls_ladder(s3, settings):
    bucket_rules_apply(rules=bucket_rules(origins=ORIGINS))

    video = _expirations(s3, settings.R2_BUCKET_VIDEO)
    assert video["video-raw-30d"] == ("raw/", 30)
    assert all(not prefix.startswith("tenants/") for prefix, _ in video.values())  # the HLS ladder is never matched
    assert _expirations(s3, settings.R2_BUCKET_STORAGE)["exports-1d"] == ("exports/", 1)
    assert _expirations(s3, settings.R2_BUCKET_EXCEL)["imports-2d"] == ("imports/", 2)
    for setting in LOGICAL_BUCKETS.values():
        rules = s3.get_bucket_lifecycle_configuration(Bucket=getattr(settings, setting))["Rules"]
        abort = [r for r in rules if "AbortIncompleteMultipartUpload" in r]
        assert [r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] for r in abort] == [7]


def test_a_second_run_changes_nothing(s3):
    rules = bucket_rules(origins=ORIGINS)
    bucket_rules_apply(rules=rules)

    again = bucket_rules_apply(rules=rules)

    assert [c.changed for c in again] == [False] * len(LOGICAL_BUCKETS)


def test_a_changed_origin_is_written_again(s3, settings):
    bucket_rules_apply(rules=bucket_rules(origins=ORIGINS))

    changes = bucket_rules_apply(rules=bucket_rules(origins=["https://new.example.com"]))

    assert all(c.cors_changed and not c.lifecycle_changed for c in changes)
    (rule,) = s3.get_bucket_cors(Bucket=settings.R2_BUCKET_AI)["CORSRules"]
    assert rule["AllowedOrigins"] == ["https://new.example.com"]


def test_a_foreign_lifecycle_rule_is_reported_and_replaced(s3, settings):
    s3.put_bucket_lifecycle_configuration(Bucket=settings.R2_BUCKET_VIDEO, LifecycleConfiguration={"Rules": [
        {"ID": "hand-made", "Filter": {"Prefix": "tenants/"}, "Status": "Enabled", "Expiration": {"Days": 1}}]})

    changes = {c.bucket: c for c in bucket_rules_apply(rules=bucket_rules(origins=ORIGINS))}

    assert changes[settings.R2_BUCKET_VIDEO].notes == ["replaces lifecycle rule 'hand-made'"]
    assert "hand-made" not in _expirations(s3, settings.R2_BUCKET_VIDEO)


def test_dry_run_reports_without_writing(s3, settings):
    changes = bucket_rules_apply(rules=bucket_rules(origins=ORIGINS), dry_run=True)

    assert all(c.cors_changed and c.lifecycle_changed for c in changes)
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchCORSConfiguration"):
        s3.get_bucket_cors(Bucket=settings.R2_BUCKET_VIDEO)


@pytest.mark.parametrize("origin", ["https://admin.example.com/", "admin.example.com", "ftp://x.example.com",
                                    "https://admin.example.com/app", "*"])
def test_an_origin_a_browser_never_sends_is_refused(origin):
    with pytest.raises(BucketRulesError):
        bucket_rules(origins=[origin])


def test_no_origin_is_refused():
    with pytest.raises(BucketRulesError, match="at least one"):
        bucket_rules(origins=[])


def test_the_script_applies_rules_from_the_setting_and_reports_each_bucket(s3, settings, capsys):
    from scripts.configure_buckets import main

    settings.CORS_ALLOWED_ORIGINS = ["https://admin.example.com"]

    assert main([]) == 0
    first = capsys.readouterr().out.splitlines()
    assert main([]) == 0
    second = capsys.readouterr().out.splitlines()

    assert f"{settings.R2_BUCKET_VIDEO} cors=changed lifecycle=changed" in first
    assert second == [f"{getattr(settings, s)} cors=unchanged lifecycle=unchanged" for s in LOGICAL_BUCKETS.values()]


def test_the_script_refuses_without_an_origin(s3, settings, capsys):
    from scripts.configure_buckets import main

    settings.CORS_ALLOWED_ORIGINS = []

    assert main([]) == 1
    assert "CORS_ALLOWED_ORIGINS" in capsys.readouterr().err
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_bucket_cors(Bucket=settings.R2_BUCKET_VIDEO)
