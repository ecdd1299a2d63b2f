"""Staff side of parent accounts: invite (texted once, code never stored or logged), list, link, unlink, deactivate."""

import logging

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.request import Request

from apps.core.exceptions import NotFoundError
from apps.core.models import Role, User
from apps.core.tests.log_capture import logged_text
from apps.domains.accounts.models import Parent, ParentInvite, ParentStudent
from apps.domains.me.subject import me_subject
from apps.domains.messaging.models import MessageOptOut, MessageRecipient, MessageSend, MessagingProfile
from apps.domains.messaging.tests.sending_support import run_handler
from apps.integrations.models import OutboxMessage
from apps.jobs.models import Job

from .conftest import PARENT_PHONE, PASSWORD

pytestmark = pytest.mark.django_db

INVITES = "/api/v1/parents/invites/"


def _subject_ids(parent_user, query=""):
    request = Request(RequestFactory().get(f"/api/v1/me/lectures/{query}"))
    request.user = User.objects.get(pk=parent_user.pk)
    return me_subject(request).student.id


def _deliver(send_id: int) -> None:
    """Run the send's message_send job as a worker would."""
    job = Job.objects.get(kind="message_send", payload__send_id=send_id)
    run_handler(job)


# ---------------------------------------------------------------------------------------------------- invite

def test_an_invite_links_every_live_child_and_texts_the_code_once(academy, other_tenant, make_student, invite,
                                                                   caplog):
    # Given two children with this parent phone, one who left, one of another family and one at another academy
    first = make_student(academy, name="김첫째", parent_phone=PARENT_PHONE)
    second = make_student(academy, name="김둘째", parent_phone=PARENT_PHONE)
    left = make_student(academy, name="김떠남", parent_phone=PARENT_PHONE, deleted_at=timezone.now())
    make_student(academy, name="남의집", parent_phone="01011112222")
    make_student(other_tenant, name="다른학원", parent_phone=PARENT_PHONE)

    # When staff invite the phone and the worker sends the text
    with caplog.at_level(logging.DEBUG):
        body = invite(phone="010-5555-6666", name="김부모")
        _deliver(body["send_id"])

    # Then the parent exists, not activated, with the two live children
    code = body["setup_code"]
    assert len(code) == 8 and code.isdigit()
    parent = Parent.objects.get(tenant=academy, phone=PARENT_PHONE)
    assert body["linked_student_ids"] == [first.id, second.id]
    assert body["parent"]["username"] == f"{PARENT_PHONE}@{academy.code}"
    assert (body["parent"]["activated"], body["parent"]["is_active"], body["parent"]["name"]) == (False, True, "김부모")
    assert [child["id"] for child in body["parent"]["children"]] == [second.id, first.id]  # by name
    assert not ParentStudent.objects.filter(student=left).exists()
    assert not parent.user.has_usable_password()
    assert parent.user.role == Role.PARENT
    # and exactly one text went to the parent phone, with the academy code and the code, and no password
    send = MessageSend.objects.get(id=body["send_id"])
    assert (send.trigger, send.audience, send.purpose) == ("parent_invite", "parent", "info")
    assert code not in send.body
    outbox = list(OutboxMessage.objects.all())
    assert len(outbox) == 1
    assert outbox[0].to == PARENT_PHONE
    assert f"학원 코드: {academy.code}" in outbox[0].text and f"인증 코드: {code}" in outbox[0].text
    assert "비밀번호:" not in outbox[0].text
    # and the code is stored only as a hash and never logged
    stored = ParentInvite.objects.get(parent=parent)
    assert code not in stored.code_hash and check_password(code, stored.code_hash)
    assert stored.send_id == send.id
    assert code not in logged_text(caplog.records)
    assert PARENT_PHONE not in logged_text(caplog.records)


def test_the_code_is_in_the_answer_only_on_the_embedded_outbox(academy, make_student, invite, settings):
    make_student(academy, parent_phone=PARENT_PHONE)
    settings.MESSAGING_PROVIDER = "solapi"

    body = invite(phone=PARENT_PHONE)

    assert "setup_code" not in body
    assert MessageSend.objects.filter(id=body["send_id"]).exists()


def test_staff_see_that_the_invite_went_but_never_its_code(academy, make_student, invite, staff_client, settings):
    make_student(academy, parent_phone=PARENT_PHONE)
    settings.MESSAGING_PROVIDER = "solapi"
    body = invite(phone=PARENT_PHONE)
    code = MessageRecipient.objects.get(send_id=body["send_id"]).text.split("인증 코드: ")[1][:8]

    detail = staff_client.get(f"/api/v1/messaging/sends/{body['send_id']}/")
    recipients = staff_client.get(f"/api/v1/messaging/sends/{body['send_id']}/recipients/")

    assert detail.status_code == 200 and recipients.status_code == 200
    assert [row["text"] for row in recipients.json()["results"]] == [
        "(일회용 인증 코드가 담긴 문자라 본문을 표시하지 않습니다)"]
    assert code not in detail.content.decode() and code not in recipients.content.decode()


def test_an_invite_by_student_takes_that_students_parent_phone(academy, make_student, invite):
    child = make_student(academy, parent_phone=PARENT_PHONE)
    sibling = make_student(academy, name="동생", parent_phone=PARENT_PHONE)

    body = invite(student_id=child.id)

    assert body["parent"]["phone"] == PARENT_PHONE
    assert body["linked_student_ids"] == [child.id, sibling.id]


@pytest.mark.parametrize(("payload", "status", "code"), [
    ({"phone": "01099998888"}, 400, "PARENT_PHONE_NO_STUDENTS"),
    ({}, 400, "PARENT_INVITE_TARGET_INVALID"),
    ({"phone": PARENT_PHONE, "student_id": 1}, 400, "PARENT_INVITE_TARGET_INVALID"),
    ({"phone": "02-555-0100"}, 400, "INVALID_PHONE"),
])
def test_an_invite_without_a_child_to_link_is_refused_and_nothing_is_made(academy, make_student, staff_client,
                                                                        payload, status, code):
    make_student(academy, parent_phone=PARENT_PHONE)

    response = staff_client.post(INVITES, payload, format="json")

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert (Parent.objects.count(), ParentInvite.objects.count(), MessageSend.objects.count()) == (0, 0, 0)


def test_another_academys_student_is_404(academy, other_tenant, make_student, staff_client):
    foreign = make_student(other_tenant, parent_phone=PARENT_PHONE)

    response = staff_client.post(INVITES, {"student_id": foreign.id}, format="json")

    assert (response.status_code, response.json()["code"]) == (404, "STUDENT_NOT_FOUND")
    assert Parent.objects.count() == 0


@pytest.mark.parametrize("blocker", ["no_sender", "opted_out"])
def test_an_invite_that_cannot_be_texted_changes_nothing(academy, make_student, staff_client, invite, blocker):
    # Given an invited parent whose first code is still open
    make_student(academy, parent_phone=PARENT_PHONE)
    first = invite(phone=PARENT_PHONE)
    if blocker == "no_sender":
        MessagingProfile.objects.filter(tenant=academy).update(sender_verified_at=None)
    else:
        MessageOptOut.objects.create(tenant=academy, phone=PARENT_PHONE)

    # When staff invite again and the text cannot go
    response = staff_client.post(INVITES, {"phone": PARENT_PHONE}, format="json")

    # Then the refusal says why, and the first code is still the open one
    expected = {"no_sender": (409, "SENDER_NOT_APPROVED"), "opted_out": (400, "NO_RECIPIENTS")}[blocker]
    assert (response.status_code, response.json()["code"]) == expected
    invites = list(ParentInvite.objects.all())
    assert len(invites) == 1 and invites[0].is_open and invites[0].send_id == first["send_id"]


def test_reinviting_voids_the_old_code(academy, make_student, invite, client):
    make_student(academy, parent_phone=PARENT_PHONE)
    old = invite(phone=PARENT_PHONE)["setup_code"]
    new = invite(phone=PARENT_PHONE)["setup_code"]
    activate = {"academy": academy.code, "phone": PARENT_PHONE, "password": PASSWORD}

    refused = client.post("/api/v1/auth/parent/activate/", {**activate, "code": old}, content_type="application/json")
    accepted = client.post("/api/v1/auth/parent/activate/", {**activate, "code": new}, content_type="application/json")

    assert (refused.status_code, refused.json()["code"]) == (400, "INVITE_CODE_INVALID")
    assert accepted.status_code == 200
    assert [(row.void_reason, row.used_at is None) for row in ParentInvite.objects.order_by("id")] == [
        ("reissued", True), ("", False)]
    assert MessageSend.objects.filter(trigger="parent_invite").count() == 2


def test_students_and_parents_cannot_invite(academy, make_user, make_student, client_for):
    make_student(academy, parent_phone=PARENT_PHONE)
    for role in (Role.STUDENT, Role.PARENT):
        response = client_for(make_user(academy, role)).post(INVITES, {"phone": PARENT_PHONE}, format="json")
        assert response.status_code == 403
    assert Parent.objects.count() == 0


# ---------------------------------------------------------------------------------------------------- list

def test_staff_list_parents_with_children_in_a_constant_number_of_queries(academy, make_student, make_parent,
                                                                           staff_client, other_tenant):
    def listing():
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get("/api/v1/parents/")
        assert response.status_code == 200
        return response.json(), len(queries)

    child = make_student(academy, name="가온", parent_phone=PARENT_PHONE)
    make_parent(academy, child)
    make_parent(other_tenant, make_student(other_tenant, parent_phone=PARENT_PHONE))
    one, queries_for_one = listing()
    for n in range(3):
        phone = f"0107777000{n}"
        make_parent(academy, make_student(academy, parent_phone=phone), make_student(academy, name="둘째",
                                                                                      parent_phone=phone),
                    phone=phone)
    many, queries_for_four = listing()

    assert one["count"] == 1
    assert one["results"][0]["children"] == [{"id": child.id, "name": "가온", "left": False}]
    assert one["results"][0]["invite_expires_at"] is None
    assert many["count"] == 4 and all(len(row["children"]) == 2 for row in many["results"][1:])
    assert queries_for_four == queries_for_one


# ---------------------------------------------------------------------------------------------------- link

def test_linking_needs_the_same_parent_phone(academy, other_tenant, make_student, make_parent, staff_client):
    parent = make_parent(academy)
    sibling = make_student(academy, name="동생", parent_phone=PARENT_PHONE)
    stranger = make_student(academy, name="남", parent_phone="01011112222")
    foreign = make_student(other_tenant, parent_phone=PARENT_PHONE)
    url = f"/api/v1/parents/{parent.id}/children/{{}}/"

    linked = staff_client.post(url.format(sibling.id))
    again = staff_client.post(url.format(sibling.id))
    mismatch = staff_client.post(url.format(stranger.id))
    elsewhere = staff_client.post(url.format(foreign.id))

    assert linked.status_code == 200 and again.status_code == 200
    assert [child["id"] for child in again.json()["children"]] == [sibling.id]
    assert (mismatch.status_code, mismatch.json()["code"]) == (400, "PARENT_PHONE_MISMATCH")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "STUDENT_NOT_FOUND")
    assert list(ParentStudent.objects.values_list("student_id", flat=True)) == [sibling.id]


def test_another_academys_parent_is_404(academy, other_tenant, make_student, make_parent, staff_client):
    foreign = make_parent(other_tenant)
    student = make_student(academy, parent_phone=PARENT_PHONE)

    assert staff_client.post(f"/api/v1/parents/{foreign.id}/children/{student.id}/").status_code == 404
    assert staff_client.delete(f"/api/v1/parents/{foreign.id}/children/{student.id}/").status_code == 404
    assert not ParentStudent.objects.exists()


def test_unlinking_hides_the_child_from_the_parent(academy, make_student, make_parent, staff_client):
    first = make_student(academy, name="첫째", parent_phone=PARENT_PHONE)
    second = make_student(academy, name="둘째", parent_phone=PARENT_PHONE)
    parent = make_parent(academy, first, second)

    response = staff_client.delete(f"/api/v1/parents/{parent.id}/children/{second.id}/")
    again = staff_client.delete(f"/api/v1/parents/{parent.id}/children/{second.id}/")

    assert (response.status_code, again.status_code) == (204, 204)
    assert _subject_ids(parent.user) == first.id  # one child left: no ?student= needed
    with pytest.raises(NotFoundError):
        _subject_ids(parent.user, f"?student={second.id}")


def test_a_child_who_leaves_disappears_for_the_parent_and_the_link_stays(academy, make_student, make_parent,
                                                                         staff_client, admin_client):
    first = make_student(academy, name="첫째", parent_phone=PARENT_PHONE)
    second = make_student(academy, name="둘째", parent_phone=PARENT_PHONE)
    parent = make_parent(academy, first, second)

    assert admin_client.delete(f"/api/v1/students/{second.id}/").status_code == 204

    assert _subject_ids(parent.user) == first.id
    with pytest.raises(NotFoundError):
        _subject_ids(parent.user, f"?student={second.id}")
    listed = staff_client.get("/api/v1/parents/").json()["results"][0]["children"]
    assert listed == [{"id": second.id, "name": "둘째", "left": True}, {"id": first.id, "name": "첫째", "left": False}]


# ---------------------------------------------------------------------------------------------------- deactivate

def test_deactivation_ends_login_tokens_and_the_open_code(academy, make_student, make_parent, make_user, client_for,
                                                          client, invite):
    make_student(academy, parent_phone=PARENT_PHONE)
    parent = make_parent(academy)
    invite(phone=PARENT_PHONE)
    login = {"academy": academy.code, "phone": PARENT_PHONE, "password": PASSWORD}
    access = client.post("/api/v1/auth/token/", login, content_type="application/json").json()["access"]
    admin = client_for(make_user(academy, Role.ADMIN))
    teacher = client_for(make_user(academy, Role.TEACHER))

    refused = teacher.post(f"/api/v1/parents/{parent.id}/deactivate/")
    response = admin.post(f"/api/v1/parents/{parent.id}/deactivate/")

    assert refused.status_code == 403
    assert response.status_code == 200 and response.json()["is_active"] is False
    relogin = client.post("/api/v1/auth/token/", login, content_type="application/json")
    assert (relogin.status_code, relogin.json()["code"]) == (403, "ACCOUNT_INACTIVE")  # the right password: says why
    assert client.get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 401
    assert ParentInvite.objects.get().void_reason == "deactivated"
    assert not MessageRecipient.objects.filter(text__contains=PASSWORD).exists()


# ---------------------------------------------------------------------------------------------------- admin

@pytest.mark.parametrize("model", ["parent", "parentstudent", "parentinvite"])
def test_the_admin_lists_parents_and_never_shows_the_code_hash(client, make_user, academy, make_student, invite,
                                                               model):
    make_student(academy, parent_phone=PARENT_PHONE)
    invite(phone=PARENT_PHONE)
    client.force_login(make_user(None, Role.ADMIN, is_staff=True, is_superuser=True))
    stored = ParentInvite.objects.get()

    listing = client.get(f"/admin/accounts/{model}/?tenant__id__exact={academy.id}&q=5555")
    detail = client.get(f"/admin/accounts/parentinvite/{stored.id}/change/")

    assert listing.status_code == 200 and detail.status_code == 200
    assert stored.code_hash not in detail.content.decode() and stored.code_hash not in listing.content.decode()
    assert "code_hash" not in detail.content.decode()
