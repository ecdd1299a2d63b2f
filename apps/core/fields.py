"""Integers as Postgres stores them: every integer the API reads is bounded to its column's range.

An unbounded integer reaches the query and Postgres refuses it ("integer out of range", a 500). Bounding it at the
edge makes it a 400 VALIDATION_ERROR and puts the range in the schema. Ids are positive `bigint`
(DEFAULT_AUTO_FIELD); other integer columns are `integer` or narrower.
"""

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
