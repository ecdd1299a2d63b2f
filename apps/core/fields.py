"""Integers as Postgres stores them: every integer the API reads is bounded to its column's range.

An unbounded integer reaches the query and Postgres refuses it ("integer out of range", a 500). Bounding it at the
edge makes it a 400 VALIDATION_ERROR and puts the range in the schema. Ids are positive `bigint`
(DEFAULT_AUTO_FIELD); other integer columns are `integer` or narrower.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

PG_INT_MIN = -(2**31)
PG_INT_MAX = 2**31 - 1
PG_BIGINT_MAX = 2**63 - 1


class IntegerField(serializers.IntegerField):
    """An IntegerField bounded to Postgres `integer` unless narrower bounds are given."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", PG_INT_MIN)
        kwargs.setdefault("max_value", PG_INT_MAX)
        super().__init__(**kwargs)


class IdField(serializers.IntegerField):
    """The id of a row: a positive `bigint`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", PG_BIGINT_MAX)
        super().__init__(**kwargs)


@extend_schema_field({"type": "object", "additionalProperties": {}})
class JsonObjectField(serializers.JSONField):
    """Any JSON object (and only an object) Postgres can store in jsonb, documented as one.

    jsonb refuses a NUL character and text that is not UTF-8 (a lone surrogate such as "\\ud800" parses in JSON):
    both would be a 500 at the INSERT. CharField refuses them itself; JSONField does not.
    """

    default_error_messages = {
        "not_object": "JSON 객체여야 합니다.",
        "not_storable": "NUL 문자나 짝이 없는 서로게이트(surrogate) 문자는 저장할 수 없습니다.",
    }

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_object")
        if not _storable(value):
            self.fail("not_storable")
        return value


def _storable(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True
