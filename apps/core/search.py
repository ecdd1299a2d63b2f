"""`?search=` that finds phone numbers as people type them (ARCHITECTURE §6, the list APIs' shared filters).

Phones are stored as bare digits ("01012345678", see apps/core/phone.py), so DRF's SearchFilter finds "01012345678"
and "1234" but not "010-1234-5678", "010 1234" or "+82 10-1234". This filter reduces phone-like terms to the
digits they would be stored as before matching the view's `phone_search_fields`; every other search field still
matches each term as typed, exactly as SearchFilter does.
"""

import operator
import re
import unicodedata
from dataclasses import dataclass
from functools import reduce

from django.db import models
from rest_framework.filters import SearchFilter

# Digits with the separators people put in phone numbers, optionally after a "+" country code.
_PHONE_LIKE = re.compile(r"\+?[0-9().\-]*[0-9][0-9().\-]*")
_KOREA = "82"
PHONE_SEARCH_DESCRIPTION = (
    "검색어(공백으로 여러 개). 전화번호는 010-1234, 010 1234 5678, +82 10-1234처럼 "
    "하이픈·공백·국가번호를 넣어도 찾습니다."
)


@dataclass(frozen=True)
class SearchTerm:
    """Terms of one search word: `raw` as typed (consecutive phone fragments grouped), `digits` when phone-like."""

    raw: tuple[str, ...]
    digits: str | None


def phone_digits(term: str) -> str | None:
    """The digits of a phone-like term as they are stored, or None when the term is not phone-like.

    "010-1234" -> "0101234", "+82 10-1234" (one term after grouping) -> "0101234", "김철수" -> None.
    """
    text = unicodedata.normalize("NFKC", term).replace(" ", "")
    if not _PHONE_LIKE.fullmatch(text):
        return None
    digits = re.sub(r"[^0-9]", "", text)
    if text.startswith("+"):
        if not digits.startswith(_KOREA):
            return None
        digits = digits[len(_KOREA):]
        if not digits.startswith("0"):
            digits = "0" + digits
    return digits


def search_terms_grouped(terms: list[str]) -> list[SearchTerm]:
    """Group consecutive phone-like terms ("010", "1234", "5678") into one number; keep the others as they are."""
    grouped: list[SearchTerm] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            digits = phone_digits("".join(run))
            grouped.append(SearchTerm(raw=tuple(run), digits=digits))
            run.clear()

    for term in terms:
        if phone_digits(term) is not None:
            if term.lstrip().startswith(("+", "＋")):
                close_run()
            run.append(term)
            continue
        close_run()
        grouped.append(SearchTerm(raw=(term,), digits=None))
    close_run()
    return grouped


class PhoneAwareSearchFilter(SearchFilter):
    """SearchFilter whose phone columns (the view's `phone_search_fields`, a subset of `search_fields`) match
    phone-like terms by their digits. Views without `phone_search_fields` search exactly as with SearchFilter."""

    def filter_queryset(self, request, queryset, view):
        phone_fields = set(getattr(view, "phone_search_fields", ()))
        search_fields = self.get_search_fields(view, request)
        if not phone_fields or not search_fields:
            return super().filter_queryset(request, queryset, view)
        terms = self.get_search_terms(request)
        if not terms:
            return queryset

        text_lookups = [self.construct_search(str(f), queryset) for f in search_fields if f not in phone_fields]
        phone_lookups = [self.construct_search(str(f), queryset) for f in search_fields if f in phone_fields]

        def any_field(lookups: list[str], value: str) -> models.Q:
            if not lookups:
                return models.Q(pk__in=[])  # an empty Q would match every row
            return reduce(operator.or_, (models.Q(**{lookup: value}) for lookup in lookups))

        conditions = []
        for term in search_terms_grouped(terms):
            as_text = reduce(operator.and_, (any_field(text_lookups, raw) for raw in term.raw))
            as_phone = any_field(phone_lookups, term.digits if term.digits is not None else term.raw[0])
            conditions.append(as_text | as_phone)
        base = queryset
        queryset = queryset.filter(reduce(operator.and_, conditions))
        if self.must_call_distinct(queryset, search_fields):
            queryset = base.filter(models.Exists(queryset.filter(pk=models.OuterRef("pk"))))
        return queryset

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        if getattr(view, "phone_search_fields", None):
            for parameter in parameters:
                if parameter["name"] == self.search_param:
                    parameter["description"] = PHONE_SEARCH_DESCRIPTION
        return parameters
