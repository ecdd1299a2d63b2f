"""seed_demo prints a parent login next to the student's, and both log in; a second run changes nothing."""

import io
import re
from datetime import date

import pytest
import time_machine
from django.core.management import call_command
from django.test import RequestFactory
from rest_framework.request import Request

from apps.core.models import Role, User
from apps.domains.accounts.models import Parent, ParentStudent
from apps.domains.me.subject import me_subject

pytestmark = pytest.mark.django_db


def seed(tmp_path) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--sample-roster", str(tmp_path / "roster.xlsx"), stdout=out)
    return out.getvalue()


@time_machine.travel(date(2026, 3, 25), tick=False)
def test_seed_demo_prints_a_parent_login_that_works_and_sees_the_demo_student(settings, tmp_path, client):
    settings.DEBUG = True

    output = seed(tmp_path)
    again = seed(tmp_path)

    match = re.search(r"parent login: academy (\S+) / phone (\d{11}) / (\S+) \((.+)의 학부모\)", output)
    assert match, output
    academy, phone, password, children = match.groups()
    assert (academy, password, children) == ("demo", "parent-demo-1234", "권민준")
    assert "student login: student / student-demo-1234" in output
    assert match.group(0) in again
    assert (Parent.objects.count(), ParentStudent.objects.count()) == (1, 1)
    token = client.post("/api/v1/auth/token/", {"academy": academy, "phone": phone, "password": password},
                        content_type="application/json")
    assert token.status_code == 200
    user = User.objects.get(username=f"{phone}@demo")
    request = Request(RequestFactory().get("/api/v1/me/lectures/"))
    request.user = user
    assert (user.role, me_subject(request).student.name) == (Role.PARENT, "권민준")
