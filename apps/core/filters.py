"""Query filters of every list endpoint: integers are whole numbers within their column's range, or a 400.

django-filter's NumberFilter takes any decimal (`?lecture=1.5`, `?student=1e30`) and lets it reach the query.
"""

import django_filters
from django import forms
from django.db import models
from drf_spectacular.drainage import set_override

from apps.core.fields import PG_BIGINT_MAX, PG_INT_MAX, PG_INT_MIN


class IntegerFilter(django_filters.NumberFilter):
    """A whole number between `min_value` and `max_value` (Postgres `integer` by default)."""

    field_class = forms.IntegerField
    default_min, default_max = PG_INT_MIN, PG_INT_MAX

    def __init__(self, *args, min_value: int | None = None, max_value: int | None = None, **kwargs):
        min_value = self.default_min if min_value is None else min_value
        max_value = self.default_max if max_value is None else max_value
        super().__init__(*args, min_value=min_value, max_value=max_value, **kwargs)
        # The schema states the bounds the form field enforces.
        set_override(self, "field", {"type": "integer", "minimum": min_value, "maximum": max_value})

    def get_max_validator(self):
        return None  # max_value already bounds the field


class IdFilter(IntegerFilter):
    """The id of a row (a foreign key column): a positive `bigint`."""

    default_min, default_max = 1, PG_BIGINT_MAX


class FilterSet(django_filters.FilterSet):
    """Base of every FilterSet: filters generated from Meta.fields for integer columns are bounded too."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.AutoField: {"filter_class": IdFilter},
        models.BigAutoField: {"filter_class": IdFilter},
        models.IntegerField: {"filter_class": IntegerFilter},
        models.SmallIntegerField: {"filter_class": IntegerFilter},
        models.PositiveIntegerField: {"filter_class": IntegerFilter},
        models.PositiveSmallIntegerField: {"filter_class": IntegerFilter},
        models.BigIntegerField: {"filter_class": IntegerFilter,
                                 "extra": lambda f: {"min_value": -PG_BIGINT_MAX - 1, "max_value": PG_BIGINT_MAX}},
    }
