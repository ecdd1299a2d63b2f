"""The carriers' length and type rules: EUC-KR bytes at the SMS and LMS boundaries, and no Django import."""

import subprocess
import sys

import pytest

from apps.integrations import message_rules as rules
from apps.integrations.message_rules import euc_kr_length, message_rule_violation


# CRLF is sent as LF (1 byte); 똠 is CP949-only Hangul, which Python's euc_kr codec writes as 8 bytes no carrier
# reads; a control character other than tab or LF is not carried either.
@pytest.mark.parametrize(("text", "size"), [("가", 2), ("a", 1), ("\r\n", 1), ("가a\r\n", 4), ("😀", None),
                                            ("똠", None), ("a\x07", None), ("", 0)])
def test_euc_kr_length(text, size):
    assert euc_kr_length(text) == size


@pytest.mark.parametrize(("type", "text", "expected"), [
    ("SMS", "가" * 45, None),
    ("SMS", "가" * 45 + "\r", (rules.TOO_LONG, "SMS text of 91 bytes exceeds 90")),
    ("SMS", "a" * 90, None),
    ("LMS", "가" * 1000, None),
    ("LMS", "가" * 999 + "ab\n", (rules.TOO_LONG, "LMS text of 2001 bytes exceeds 2000")),
    ("LMS", "가😀", (rules.INVALID_MESSAGE, "text has characters outside EUC-KR")),
    ("MMS", "가", (rules.INVALID_MESSAGE, "unknown message type 'MMS'")),
    ("SMS", "", (rules.INVALID_MESSAGE, "empty text")),
])
def test_sms_and_lms_limits(type, text, expected):
    assert message_rule_violation(type=type, text=text) == expected


def test_subject_only_on_lms_and_kakao_options_required_for_ata():
    assert message_rule_violation(type="SMS", text="가", subject="제목") == (
        rules.INVALID_MESSAGE, "a subject is only allowed on LMS")
    assert message_rule_violation(type="LMS", text="가", subject="가" * 21) == (
        rules.TOO_LONG, "LMS subject exceeds 40 bytes or leaves EUC-KR")
    assert message_rule_violation(type="ATA", text="가") == (
        rules.INVALID_MESSAGE, "ATA needs kakaoOptions (pfId, templateId)")
    assert message_rule_violation(type="ATA", text="가 😀", has_kakao_options=True) is None


def test_the_rules_import_nothing_from_django():
    code = ("import sys, apps.integrations.message_rules; "
            "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))")

    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
