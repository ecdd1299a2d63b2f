"""purge_expired_exports: deletes exports older than --hours, on local storage (file times set) and on moto S3."""

import io
import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.domains.enrollment.excel.services import excel_exports_purge
from apps.integrations.storage import bucket_name, get_storage


def _exports():
    return sorted(info.key for info in get_storage().list_prefix("storage", "exports/"))


def _put(key: str, *, hours_old: float | None = None) -> None:
    storage = get_storage()
    storage.put("storage", key, b"xlsx bytes")
    if hours_old is not None:
        when = (timezone.now() - timedelta(hours=hours_old)).timestamp()
        os.utime(storage.root / bucket_name("storage") / key, (when, when))


def _purge(*args) -> str:
    out = io.StringIO()
    call_command("purge_expired_exports", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def exports(embedded_stack):
    _put("exports/1/old_명단.xlsx", hours_old=30)
    _put("exports/2/yesterday_명단.xlsx", hours_old=23)
    _put("exports/1/new_명단.xlsx")
    _put("reports/1/old.pdf", hours_old=100)


def test_dry_run_lists_what_is_older_than_24_hours_and_deletes_nothing(exports):
    output = _purge("--dry-run")

    assert output.splitlines()[0].startswith("would delete storage/exports/1/old_명단.xlsx (10 bytes, modified ")
    assert output.splitlines()[1:] == ["would delete 1 export(s) older than 24 h"]
    assert len(_exports()) == 3


def test_only_exports_older_than_the_hours_are_deleted(exports):
    output = _purge()

    assert output.splitlines()[-1] == "deleted 1 export(s) older than 24 h"
    assert _exports() == ["exports/1/new_명단.xlsx", "exports/2/yesterday_명단.xlsx"]
    assert get_storage().exists("storage", "reports/1/old.pdf")

    assert _purge("--hours", "20").splitlines()[-1] == "deleted 1 export(s) older than 20 h"
    assert _exports() == ["exports/1/new_명단.xlsx"]


def test_hours_below_one_are_refused(exports):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        _purge("--hours", "0")
    assert len(_exports()) == 3


def test_purge_on_s3_compares_the_objects_time_with_the_cutoff(aws_stack):
    storage = get_storage()
    storage.put("storage", "exports/1/a.xlsx", b"a")
    storage.put("storage", "exports/1/b.xlsx", b"b")
    now = timezone.now()

    assert excel_exports_purge(older_than=timedelta(hours=24), now=now + timedelta(hours=23)) == []
    would = excel_exports_purge(older_than=timedelta(hours=24), now=now + timedelta(hours=25), dry_run=True)
    assert [info.key for info in would] == ["exports/1/a.xlsx", "exports/1/b.xlsx"]
    assert len(_exports()) == 2
    excel_exports_purge(older_than=timedelta(hours=24), now=now + timedelta(hours=25))
    assert _exports() == []
