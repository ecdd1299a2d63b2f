"""Fixtures of the Excel tests: a lecture to enroll into and a roster writer bound to tmp_path."""

import pytest

from .builders import ROSTER_HEADER, write_xlsx


@pytest.fixture
def lecture(make_lecture, tenant):
    return make_lecture(tenant, "수학 A반")


@pytest.fixture
def roster(tmp_path):
    """roster(rows, header=ROSTER_HEADER, **write_xlsx options) -> path of a new xlsx."""
    counter = iter(range(1, 1000))

    def make(rows: list[list], header: list | None = ROSTER_HEADER, **options):
        all_rows = ([header] if header is not None else []) + rows
        return write_xlsx(tmp_path / f"roster-{next(counter)}.xlsx", all_rows, **options)

    return make
