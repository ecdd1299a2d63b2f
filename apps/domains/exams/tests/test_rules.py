"""Answer keys and points: what is accepted, how it is stored, and the code of each refusal."""

import pytest

from apps.domains.exams.rules import answer_key_is_complete, answer_key_normalise, points_normalise


def test_answer_key_keeps_choices_lists_and_void_questions():
    key = answer_key_normalise([1, [3, 2, 3], None, [4], 5], question_count=5, choice_count=5)

    assert key == [1, [2, 3], None, 4, 5]


def test_answer_key_may_be_empty_until_entered():
    assert answer_key_normalise([], question_count=20, choice_count=5) == []


@pytest.mark.parametrize(("raw", "code", "details"), [
    ([1, 2], "ANSWER_KEY_LENGTH_MISMATCH", {"question_count": 3, "answer_count": 2}),
    ([1, 2, 3, 4], "ANSWER_KEY_LENGTH_MISMATCH", {"question_count": 3, "answer_count": 4}),
    ([1, 5, 2], "ANSWER_KEY_INVALID_CHOICE", {"question": 2, "choice_count": 4}),
    ([0, 1, 2], "ANSWER_KEY_INVALID_CHOICE", {"question": 1, "choice_count": 4}),
    ([1, 2, True], "ANSWER_KEY_INVALID_CHOICE", {"question": 3, "choice_count": 4}),
    ([1, "2", 3], "ANSWER_KEY_INVALID_CHOICE", {"question": 2, "choice_count": 4}),
    ([1, 2.0, 3], "ANSWER_KEY_INVALID_CHOICE", {"question": 2, "choice_count": 4}),
    ([1, [], 3], "ANSWER_KEY_INVALID_CHOICE", {"question": 2, "choice_count": 4}),
    ([1, [2, 9], 3], "ANSWER_KEY_INVALID_CHOICE", {"question": 2, "choice_count": 4}),
    ([1, [[2]], 3], "ANSWER_KEY_INVALID_CHOICE", {"question": 2, "choice_count": 4}),
    ({"1": 2}, "ANSWER_KEY_INVALID_CHOICE", {}),
])
def test_answer_key_refusals(raw, code, details):
    with pytest.raises(Exception) as caught:
        answer_key_normalise(raw, question_count=3, choice_count=4)

    assert (caught.value.code, caught.value.details, caught.value.status_code) == (code, details, 400)


def test_points_one_for_all_or_one_per_question_as_exact_decimal_strings():
    assert points_normalise(3.3, question_count=3) == "3.3"
    assert points_normalise(2, question_count=3) == "2"
    assert points_normalise("4.50", question_count=3) == "4.5"
    assert points_normalise([3.3, 3.4, 0], question_count=3) == ["3.3", "3.4", "0"]
    assert points_normalise(100, question_count=1) == "100"


@pytest.mark.parametrize(("raw", "code", "details"), [
    ([1, 2], "POINTS_LENGTH_MISMATCH", {"question_count": 3, "points_count": 2}),
    (-1, "POINTS_NEGATIVE", {}),
    ([1, -0.5, 1], "POINTS_NEGATIVE", {"question": 2}),
    (1.234, "POINTS_INVALID", {}),
    (1001, "POINTS_INVALID", {}),
    (float("inf"), "POINTS_INVALID", {}),
    (float("nan"), "POINTS_INVALID", {}),
    ("세 점", "POINTS_INVALID", {}),
    (True, "POINTS_INVALID", {}),
    (None, "POINTS_INVALID", {}),
    ([1, {"a": 1}, 1], "POINTS_INVALID", {"question": 2}),
    (1e-7, "POINTS_INVALID", {}),
])
def test_points_refusals(raw, code, details):
    with pytest.raises(Exception) as caught:
        points_normalise(raw, question_count=3)

    assert (caught.value.code, caught.value.details) == (code, details)


def test_a_key_is_complete_with_every_question_and_one_that_counts():
    assert answer_key_is_complete([1, None, [2, 3]], question_count=3)
    assert not answer_key_is_complete([], question_count=3)
    assert not answer_key_is_complete([None, None, None], question_count=3)
