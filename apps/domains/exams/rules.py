"""Answer keys and points, checked and normalised (ARCHITECTURE §4 AI, exams): the rules every write of an exam obeys.

Pure: no database. Each refusal is a DomainError with a stable code, a Korean message and the offending question.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from apps.core.exceptions import DomainError

MAX_POINTS_PER_QUESTION = Decimal(1000)
POINTS_STEP = Decimal("0.01")


class AnswerKeyLengthError(DomainError):
    default_code = "ANSWER_KEY_LENGTH_MISMATCH"
    default_message = "정답 개수가 문항 수와 다릅니다."


class AnswerKeyChoiceError(DomainError):
    default_code = "ANSWER_KEY_INVALID_CHOICE"
    default_message = "정답은 1부터 보기 수까지의 번호, 복수 정답이면 번호의 목록, 무효 문항이면 null이어야 합니다."


class PointsLengthError(DomainError):
    default_code = "POINTS_LENGTH_MISMATCH"
    default_message = "문항별 배점의 개수가 문항 수와 다릅니다."


class PointsNegativeError(DomainError):
    default_code = "POINTS_NEGATIVE"
    default_message = "배점은 0점보다 작을 수 없습니다."


class PointsInvalidError(DomainError):
    default_code = "POINTS_INVALID"
    default_message = "배점은 0 이상 1000 이하, 소수점 둘째 자리까지의 숫자여야 합니다."


def _choice(value: Any, choice_count: int) -> int | None:
    if type(value) is int and 1 <= value <= choice_count:
        return value
    return None


def answer_key_normalise(raw: Any, *, question_count: int, choice_count: int) -> list:
    """[] (no key yet) or exactly `question_count` entries: an int, a sorted list of 2+ distinct ints, or None.

    A list of one choice becomes that choice; duplicates in a list are dropped.
    """
    if not isinstance(raw, list):
        raise AnswerKeyChoiceError(message="정답은 문항 순서대로 나열한 목록이어야 합니다.")
    if not raw:
        return []
    if len(raw) != question_count:
        raise AnswerKeyLengthError(details={"question_count": question_count, "answer_count": len(raw)})
    key: list = []
    for number, entry in enumerate(raw, start=1):
        if entry is None:
            key.append(None)
            continue
        entries = entry if isinstance(entry, list) else [entry]
        choices = [_choice(item, choice_count) for item in entries]
        if not choices or None in choices:
            raise AnswerKeyChoiceError(details={"question": number, "choice_count": choice_count})
        unique = sorted(set(choices))
        key.append(unique[0] if len(unique) == 1 else unique)
    return key


def _decimal(value: Any, number: int | None) -> str:
    details = {"question": number} if number is not None else {}
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PointsInvalidError(details=details)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise PointsInvalidError(details=details) from None
    if not amount.is_finite():
        raise PointsInvalidError(details=details)
    if amount < 0:
        raise PointsNegativeError(details=details)
    if amount > MAX_POINTS_PER_QUESTION or amount != amount.quantize(POINTS_STEP):
        raise PointsInvalidError(details=details)
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def points_normalise(raw: Any, *, question_count: int) -> str | list[str]:
    """One decimal string for every question, or a list of exactly `question_count` decimal strings."""
    if isinstance(raw, list):
        if len(raw) != question_count:
            raise PointsLengthError(details={"question_count": question_count, "points_count": len(raw)})
        return [_decimal(value, number) for number, value in enumerate(raw, start=1)]
    return _decimal(raw, None)


def answer_key_is_complete(key: list, *, question_count: int) -> bool:
    """Ready to grade: one entry per question and at least one question that is not void."""
    return len(key) == question_count and any(entry is not None for entry in key)
