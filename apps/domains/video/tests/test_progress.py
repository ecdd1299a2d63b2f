"""Heartbeats (apps/domains/video/progress.py): out of order, duplicated, from two devices, seeking ahead; the Postgres
statement and the portable path against the pure rule on the same sequences; who may record; retention."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.exceptions import NotFoundError
from apps.domains.enrollment.models import Enrollment
from apps.domains.video import progress, progress_rules
from apps.domains.video.models import VideoPlaybackDevice, VideoProgress, VideoState

from .progress_support import at, make_ready_video

pytestmark = pytest.mark.django_db

A, B = uuid.UUID(int=1), uuid.UUID(int=2)


@pytest.fixture
def lecture(make_lecture, tenant):
    return make_lecture(tenant)


@pytest.fixture
def video(tenant, lecture):
    return make_ready_video(tenant, lecture, duration=600.0)


@pytest.fixture
def student(enrolled_student, lecture):
    return enrolled_student(lecture)


@pytest.fixture
def record(tenant, video, student):
    def send(playback_id, seq, position, seconds, playing=True, path=progress.video_progress_record, **ids):
        ids = {"tenant_id": tenant.id, "student_id": student.id, "video_id": video.id, **ids}
        if path is progress.video_progress_record:
            return path(**ids, playback_id=playback_id, seq=seq, position=position, playing=playing, now=at(seconds))
        return path({**ids, "playback_id": playback_id, "seq": seq, "position": float(position),
                     "playing": playing, "now": at(seconds)})

    return send


def watched(video, student) -> str:
    return VideoProgress.objects.get(video=video, student=student).watched


# ---------------------------------------------------------------------------------------------------- the cases
def test_normal_playback_counts_what_was_played(record, video, student):
    for seq, second in enumerate((0, 10, 20, 30), 1):
        state = record(A, seq, float(second), second)
    assert (state.watched_tenths, state.last_position, state.percent) == (300, 30.0, 5.0)
    assert watched(video, student) == "{[0,300)}"


def test_out_of_order_heartbeats_change_nothing_and_a_gap_is_covered(record, video, student):
    record(A, 1, 0.0, 0)
    record(A, 3, 20.0, 20.2)  # 2 is late: 3 covers [0, 20] (20 s of content in 20.2 s)
    late = record(A, 2, 10.0, 20.4)

    assert (late.watched_tenths, late.last_position) == (200, 20.0)
    assert watched(video, student) == "{[0,200)}"
    device = VideoPlaybackDevice.objects.get(playback_id=A)
    assert (device.seq, device.position, device.seen_at) == (3, 20.0, at(20.2))


def test_a_duplicated_heartbeat_gives_the_same_answer_and_changes_nothing(record, video, student):
    record(A, 1, 0.0, 0)
    first = record(A, 2, 10.0, 10)
    again = record(A, 2, 10.0, 14)  # a retry of the same request
    tampered = record(A, 2, 25.0, 15)  # the same seq with another position is still a duplicate

    assert first == again == tampered
    assert (first.watched_tenths, first.last_position, first.last_watched_at) == (100, 10.0, at(10))
    assert VideoPlaybackDevice.objects.get(playback_id=A).seen_at == at(10)


def test_two_devices_union_their_spans(record, video, student):
    record(A, 1, 0.0, 0)
    record(B, 1, 20.0, 1)
    record(A, 2, 10.0, 10)
    record(B, 2, 30.0, 11)
    record(A, 3, 20.0, 20)
    state = record(B, 3, 40.0, 21)  # B watched [20, 40] while A watched [0, 20]; then A goes over B's part again
    record(A, 4, 30.0, 30)
    again = record(A, 5, 40.0, 40)

    assert state.watched_tenths == 400
    assert (again.watched_tenths, again.last_position) == (400, 40.0)  # watched twice, counted once
    assert watched(video, student) == "{[0,400)}"
    assert VideoPlaybackDevice.objects.filter(student=student).count() == 2


def test_seeking_ahead_counts_nothing_but_moves_the_position(record, video, student):
    record(A, 1, 0.0, 0)
    record(A, 2, 10.0, 10)
    seek = record(A, 3, 300.0, 12)  # 290 s of content in 2 s
    state = record(A, 4, 310.0, 22)

    assert (seek.watched_tenths, seek.last_position) == (100, 300.0)
    assert state.watched_tenths == 200
    assert watched(video, student) == "{[0,100),[3000,3100)}"


def test_playback_at_2x_counts_and_a_long_pause_does_not_pay_for_a_seek(record, video, student):
    record(A, 1, 0.0, 0)
    fast = record(A, 2, 20.0, 10)  # 2x speed
    record(A, 3, 30.0, 15, playing=False)  # pause heartbeat: [20, 30] counts
    after_pause = record(A, 4, 200.0, 3600)  # seeked while paused: nothing counts

    assert fast.watched_tenths == 200
    assert after_pause.watched_tenths == 300
    assert watched(video, student) == "{[0,300)}"


def test_completion_is_set_once_at_90_percent_and_positions_are_clamped(record, video, student):
    for seq in range(1, 55):
        state = record(A, seq, 10.0 * (seq - 1), 10 * (seq - 1))
    assert (state.watched_tenths, state.completed_at) == (5300, None)
    done = record(A, 55, 540.0, 540)
    assert (done.watched_tenths, done.completed_at) == (5400, at(540))
    end = record(A, 56, 603.0, 570)  # 3 s past the end: clamped to 600
    assert (end.last_position, end.watched_tenths, end.percent, end.completed_at) == (600.0, 6000, 100.0, at(540))


def test_a_heartbeat_is_one_statement(record, django_assert_num_queries):
    record(A, 1, 0.0, 0)
    with django_assert_num_queries(1):
        record(A, 2, 10.0, 10)


@pytest.mark.parametrize("path", ["sql", "portable"])
def test_only_an_active_enrollment_in_a_live_lecture_records(path, record, video, lecture, student, tenant,
                                                             other_tenant, make_student, make_lecture):
    send = progress._record_portable if path == "portable" else progress._record_sql
    stranger = make_student(tenant, name="남학생")
    foreign = make_ready_video(other_tenant, make_lecture(other_tenant))
    refusals = [
        {"student_id": stranger.id},  # not enrolled
        {"video_id": foreign.id},  # another academy's video
        {"video_id": foreign.id, "tenant_id": other_tenant.id},  # a student of this academy, enrolled elsewhere
        {"video_id": 999_999},
    ]
    for ids in refusals:
        with pytest.raises(NotFoundError) as raised:
            record(A, 1, 0.0, 0, path=send, **ids)
        assert raised.value.code == "VIDEO_NOT_FOUND"
    Enrollment.objects.filter(student=student).update(status="DROPPED")
    with pytest.raises(NotFoundError):
        record(A, 1, 0.0, 0, path=send)
    Enrollment.objects.filter(student=student).update(status="ACTIVE")
    lecture.archived_at = timezone.now()
    lecture.save(update_fields=["archived_at"])
    with pytest.raises(NotFoundError):
        record(A, 1, 0.0, 0, path=send)
    lecture.archived_at = None
    lecture.save(update_fields=["archived_at"])
    video.state = VideoState.PROCESSING
    video.save(update_fields=["state"])
    with pytest.raises(NotFoundError):
        record(A, 1, 0.0, 0, path=send)

    assert not VideoProgress.objects.exists() and not VideoPlaybackDevice.objects.exists()


# ------------------------------------------------------------------------ the SQL and portable paths = the rule
events = st.lists(st.tuples(
    st.sampled_from([0, 0, 1]),  # which device
    st.sampled_from([1, 1, 1, 0, -1, 2]),  # seq step: next, duplicate, late, a lost heartbeat
    st.one_of(st.floats(0, 21), st.floats(-100, 400)),  # position step: playing (up to 2x), or a seek
    st.floats(0, 40),  # server seconds since the previous heartbeat
    st.sampled_from([True, True, True, False]),  # playing on after it
), min_size=1, max_size=14)


def model(steps, duration):
    """The pure rule applied to the same heartbeats: per device the last accepted beat, the union of spans."""
    devices, spans, answers, last_position, completed = {}, [], [], None, False
    for playback_id, seq, position, seconds, playing in steps:
        beat = progress_rules.Beat(seq=seq, position=progress_rules.clamp(position, duration), playing=playing,
                                   at=at(seconds))
        previous = devices.get(playback_id)
        if progress_rules.accepts(previous, beat):
            span = progress_rules.played_span(previous, beat)
            spans = progress_rules.union(spans, [span] if span else [])
            devices[playback_id], last_position = beat, beat.position
            completed = completed or progress_rules.is_complete(progress_rules.total(spans), duration)
        answers.append((progress_rules.total(spans), last_position, completed))
    return spans, answers


def heartbeats(raw):
    steps, seqs, positions, seconds = [], {0: 0, 1: 0}, {0: 0.0, 1: 0.0}, 0.0
    for device, seq_step, position_step, elapsed, playing in raw:
        seqs[device] = max(0, seqs[device] + seq_step)
        positions[device] = max(0.0, positions[device] + position_step)
        seconds += elapsed
        steps.append(((A, B)[device], seqs[device], positions[device], seconds, playing))
    return steps


@pytest.mark.parametrize("path", ["sql", "portable"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=events)
def test_both_paths_follow_the_rule_on_any_sequence(path, raw, record, video, student):
    VideoProgress.objects.all().delete()
    VideoPlaybackDevice.objects.all().delete()
    send = progress._record_portable if path == "portable" else progress._record_sql
    steps = heartbeats(raw)
    expected_spans, expected_answers = model(steps, video.duration_seconds)

    answers = []
    for playback_id, seq, position, seconds, playing in steps:
        state = record(playback_id, seq, position, seconds, playing, path=send)
        answers.append((state.watched_tenths, state.last_position, state.completed_at is not None))

    assert answers == expected_answers
    assert watched(video, student) == progress_rules.to_text(expected_spans)


# ---------------------------------------------------------------------------------------------------- retention
def test_retention_keeps_progress_while_enrolled_and_for_the_set_period_after(settings, record, video, student,
                                                                              lecture, enrolled_student):
    settings.VIDEO_PROGRESS_RETENTION_DAYS = 30
    other = enrolled_student(lecture, name="이학생")
    record(A, 1, 0.0, 0)
    record(B, 1, 0.0, 0, student_id=other.id)
    now = timezone.now()

    assert progress.video_progress_purge(now=now)["ended"] == 0
    Enrollment.objects.filter(student=student).update(status="DROPPED")
    first = progress.video_progress_purge(now=now)
    assert (first["ended"], first["deleted"]) == (1, 0)
    assert VideoProgress.objects.get(student=student).inactive_since == now
    # 29 days later: still kept; the other student's enrollment lives, so theirs is never touched.
    assert progress.video_progress_purge(now=now + timedelta(days=29))["deleted"] == 0
    gone = progress.video_progress_purge(now=now + timedelta(days=31))
    assert gone["deleted"] == 1
    assert list(VideoProgress.objects.values_list("student_id", flat=True)) == [other.id]


def test_a_re_enrolled_student_keeps_their_progress(record, video, student):
    record(A, 1, 0.0, 0)
    now = timezone.now()
    Enrollment.objects.filter(student=student).update(status="PAUSED")
    progress.video_progress_purge(now=now)
    Enrollment.objects.filter(student=student).update(status="ACTIVE")

    assert progress.video_progress_purge(now=now + timedelta(days=400))["revived"] == 1
    assert VideoProgress.objects.get(student=student).inactive_since is None


def test_a_deleted_student_counts_as_ended_and_stale_devices_go(record, video, student):
    record(A, 1, 0.0, 0)  # device seen at T0 (2026-03-02)
    student.deleted_at = timezone.now()
    student.save(update_fields=["deleted_at"])

    outcome = progress.video_progress_purge(now=at(0) + timedelta(days=3))

    assert (outcome["ended"], outcome["devices_deleted"]) == (1, 1)
    assert not VideoPlaybackDevice.objects.exists()


def test_the_purge_is_a_daily_periodic_task():
    from apps.jobs.scheduler import all_periodic

    [task] = [t for t in all_periodic() if t.name == "purge_video_progress"]
    assert (task.function, task.every_seconds) == ("apps.domains.video.progress.video_progress_purge", 86400)


# ---------------------------------------------------------------------------------------------------- concurrency
@pytest.mark.django_db(transaction=True)
def test_two_devices_posting_at_the_same_moments_lose_no_span(tenant, video, student):
    import threading

    from django.db import connection

    barrier = threading.Barrier(2)
    failures = []

    def play(playback_id, start):
        try:
            for seq in range(1, 12):
                barrier.wait(timeout=10)  # both devices' heartbeats of this step race each other
                progress.video_progress_record(tenant_id=tenant.id, student_id=student.id, video_id=video.id,
                                               playback_id=playback_id, seq=seq, position=start + 10.0 * (seq - 1),
                                               now=at(10 * (seq - 1)))
        except Exception as exc:  # reported below: an assertion in a thread would be lost
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=play, args=(A, 0.0)), threading.Thread(target=play, args=(B, 200.0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    row = VideoProgress.objects.get(video=video, student=student)
    assert (row.watched, row.watched_tenths) == ("{[0,1000),[2000,3000)}", 2000)
