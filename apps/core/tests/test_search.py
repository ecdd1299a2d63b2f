"""Phone-like search terms reduce to the digits phones are stored as."""

import pytest

from apps.core.search import SearchTerm, phone_digits, search_terms_grouped


@pytest.mark.parametrize(("term", "expected"), [
    ("010-1234-5678", "01012345678"),
    ("010.1234", "0101234"),
    ("(010)1234", "0101234"),
    ("０１０-１２３４", "0101234"),
    ("+82-10-1234-5678", "01012345678"),
    ("+82010-1234", "0101234"),
    ("1234", "1234"),
    ("김철수", None),
    ("고2", None),
    ("-", None),
    ("+1-555-0100", None),
])
def test_phone_digits(term, expected):
    assert phone_digits(term) == expected


def test_consecutive_fragments_form_one_number_and_words_stay_apart():
    assert search_terms_grouped(["김철수", "010", "1234", "대치중", "+82", "10-5678"]) == [
        SearchTerm(raw=("김철수",), digits=None),
        SearchTerm(raw=("010", "1234"), digits="0101234"),
        SearchTerm(raw=("대치중",), digits=None),
        SearchTerm(raw=("+82", "10-5678"), digits="0105678"),
    ]


def test_a_country_code_starts_a_new_number():
    assert [term.digits for term in search_terms_grouped(["5678", "+82", "10"])] == ["5678", "010"]
