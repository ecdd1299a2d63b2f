import uuid

import pytest
from django.core import signing

from apps.jobs import events
from apps.jobs.errors import EventsBusyError, EventsTicketExpiredError, EventsTicketInvalidError
from apps.jobs.models import Job, JobState


def test_a_ticket_reads_back_as_its_user_for_its_job_only():
    job_id = uuid.uuid4()
    issued = events.job_events_ticket_issue(job_id=job_id, user_id=7)

    assert events.job_events_ticket_read(ticket=issued.ticket, job_id=job_id) == 7
    with pytest.raises(EventsTicketInvalidError):
        events.job_events_ticket_read(ticket=issued.ticket, job_id=uuid.uuid4())


@pytest.mark.parametrize("payload", [
    ["not", "a", "dict"],
    {"u": 7, "e": 4_000_000_000},
    {"j": "{job}", "u": "7", "e": 4_000_000_000},
    {"j": "{job}", "u": 7},
    {"j": "{job}", "u": 7, "e": "4000000000"},
])
def test_a_signed_ticket_with_a_malformed_payload_is_invalid(payload):
    job_id = uuid.uuid4()
    if isinstance(payload, dict) and "j" in payload:
        payload = {**payload, "j": str(job_id)}
    ticket = signing.dumps(payload, salt=events.TICKET_SALT)

    with pytest.raises(EventsTicketInvalidError):
        events.job_events_ticket_read(ticket=ticket, job_id=job_id)


def test_a_value_signed_for_something_else_is_not_a_ticket():
    job_id = uuid.uuid4()
    playback_token = signing.dumps({"j": str(job_id), "u": 7, "e": 4_000_000_000}, salt="apps.domains.video.playback")

    with pytest.raises(EventsTicketInvalidError):
        events.job_events_ticket_read(ticket=playback_token, job_id=job_id)


def test_a_ticket_past_its_expiry_is_expired(settings):
    settings.JOBS_EVENTS_TICKET_SECONDS = -1
    job_id = uuid.uuid4()
    issued = events.job_events_ticket_issue(job_id=job_id, user_id=7)

    with pytest.raises(EventsTicketExpiredError):
        events.job_events_ticket_read(ticket=issued.ticket, job_id=job_id)


def test_a_client_leaving_mid_stream_frees_its_slot(make_job, settings):
    settings.JOBS_SSE_MAX_STREAMS_PER_PROCESS = 1
    settings.JOBS_SSE_POLL_SECONDS = 0.01
    job = make_job(state=JobState.RUNNING)
    stream = events.job_events_open(job=job)
    assert next(stream).startswith(b"id: ")
    assert next(stream) == events.HEARTBEAT
    with pytest.raises(EventsBusyError):
        events.job_events_open(job=job)

    stream.close()  # what the WSGI server does once writing to a gone client fails: GeneratorExit at the yield

    assert events.stream_slots.in_use == 0
    again = events.job_events_open(job=job)
    assert next(again).startswith(b"id: ")
    again.close()
    assert events.stream_slots.in_use == 0


def test_a_stream_closed_before_its_first_event_frees_its_slot(make_job, settings):
    settings.JOBS_SSE_MAX_STREAMS_PER_PROCESS = 1
    stream = events.job_events_open(job=make_job(state=JobState.RUNNING))
    assert events.stream_slots.in_use == 1

    stream.close()
    stream.close()

    assert events.stream_slots.in_use == 0


def test_a_stream_whose_job_was_deleted_ends_and_frees_its_slot(make_job, settings):
    settings.JOBS_SSE_POLL_SECONDS = 0.01
    job = make_job(state=JobState.RUNNING)
    stream = events.job_events_open(job=job)
    next(stream)
    Job.objects.filter(id=job.id).delete()

    assert list(stream) == []
    stream.close()
    assert events.stream_slots.in_use == 0


def test_the_bound_follows_the_setting_at_each_open(make_job, settings):
    settings.JOBS_SSE_MAX_STREAMS_PER_PROCESS = 2
    job = make_job(state=JobState.RUNNING)
    first, second = events.job_events_open(job=job), events.job_events_open(job=job)

    with pytest.raises(EventsBusyError) as refused:
        events.job_events_open(job=job)

    assert refused.value.retry_after == events.BUSY_RETRY_AFTER_SECONDS
    assert events.stream_slots.in_use == 2
    first.close()
    second.close()
    assert events.stream_slots.in_use == 0
