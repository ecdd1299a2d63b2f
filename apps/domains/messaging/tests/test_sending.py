from decimal import Decimal

from apps.domains.messaging.models import MessageRecipient
from apps.domains.messaging.sending import SendSpec, send_create
from apps.domains.messaging.tests.sending_support import NOON, ready
from apps.jobs.models import Job


def test_a_send_to_parents_of_listed_students_stores_rows_reserves_and_queues(tenant, make_student, admin_user):
    ready(tenant)
    first = make_student(tenant, "김민준", parent_phone="01011112222")
    second = make_student(tenant, "이서연", parent_phone="01033334444")

    send = send_create(tenant=tenant, spec=SendSpec(body="#{학생이름} 학생 안내입니다.",
                                                    student_ids=[first.id, second.id]), by=admin_user, now=NOON)

    rows = list(MessageRecipient.objects.filter(send=send).values_list("student_id", "phone", "text", "type",
                                                                       "reserved_amount"))
    assert rows == [(first.id, "01011112222", "김민준 학생 안내입니다.", "SMS", Decimal("20.00")),
                    (second.id, "01033334444", "이서연 학생 안내입니다.", "SMS", Decimal("20.00"))]
    assert (send.status, send.recipient_count, send.estimated_cost) == ("QUEUED", 2, Decimal("40.00"))
    job = Job.objects.get(id=send.job_id)
    assert (job.kind, job.payload) == ("message_send", {"send_id": send.id})
