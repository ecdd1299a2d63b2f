import pytest

from apps.core.filters import FilterSet, IdFilter, IntegerFilter
from apps.domains.students.models import Student


class _GeneratedFilter(FilterSet):
    class Meta:
        model = Student
        fields = ["id", "grade"]


def test_filters_generated_for_integer_columns_are_bounded():
    filters = _GeneratedFilter.base_filters

    assert type(filters["id"]) is IdFilter
    assert type(filters["grade"]) is IntegerFilter


@pytest.mark.parametrize("params, valid", [
    ({"id": "12"}, True),
    ({"id": "0"}, False),
    ({"id": "9223372036854775808"}, False),
    ({"grade": "3.5"}, False),
    ({"grade": "2147483648"}, False),
    ({"grade": "-2147483648"}, True),
])
def test_bounded_filters_validate_whole_numbers_in_range(db, params, valid):
    assert _GeneratedFilter(params, queryset=Student.objects.none()).is_valid() is valid


def test_integer_filter_schema_states_its_bounds(client, db):
    operation = client.get("/api/schema/?format=json").json()["paths"]["/api/v1/students/"]["get"]
    schemas = {p["name"]: p["schema"] for p in operation["parameters"]}

    assert schemas["lecture"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    assert schemas["grade"] == {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
