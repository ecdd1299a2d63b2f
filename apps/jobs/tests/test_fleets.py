"""The fleet table (ARCHITECTURE §5) and the numbers of the recovery model it and the job kinds set."""

import random

import pytest

from apps.jobs.fleets import Fleet, get_fleet, takeover_bound_seconds, weighted_order
from apps.jobs.registry import all_specs


def test_every_fleet_row_reads_from_settings_with_a_short_window_and_a_heartbeat_of_10_s_or_less(settings):
    excel, ai = get_fleet("excel"), get_fleet("ai")

    assert excel.queue_names() == [settings.SQS_QUEUE_EXCEL]
    assert (excel.queue_visibility_seconds, excel.visibility_window_seconds, excel.heartbeat_interval) == (300, 30, 10)
    assert ai.queue_names() == [settings.SQS_QUEUE_AI_PREMIUM, settings.SQS_QUEUE_AI_BASIC, settings.SQS_QUEUE_AI_LITE]
    assert ai.queue_visibility_seconds == 3600


def test_a_killed_queue_workers_job_is_taken_over_within_45_s_for_every_registered_queue_kind():
    # Given the production kinds (the test kinds start with "test_") and their fleets' rows
    kinds = [spec for spec in all_specs() if spec.backend == "queue" and not spec.kind.startswith("test_")]
    assert {spec.kind for spec in kinds} >= {"excel_import", "excel_export"}
    for spec in kinds:
        # Every queue the kind may be routed to (an AI kind: its tier's and premium) is a queue of one fleet
        fleets = {f.name: f for name in spec.queue_settings() for f in map(get_fleet, ("excel", "messaging", "ai"))
                  if name in f.queue_settings}
        assert len(fleets) == 1, spec.kind
        fleet = next(iter(fleets.values()))

        # Then staleness stays ≤ 30 s and the takeover bound ≤ 45 s
        assert spec.heartbeat_timeout <= 30, spec.kind
        assert takeover_bound_seconds(fleet=fleet, staleness_seconds=spec.heartbeat_timeout) <= 45, spec.kind


def test_the_fleet_row_is_overridable_per_fleet_and_refuses_nonsense(settings):
    settings.WORKER_FLEETS = {**settings.WORKER_FLEETS,
                              "excel": {**settings.WORKER_FLEETS["excel"], "visibility_window_seconds": 12}}

    assert (get_fleet("excel").visibility_window_seconds, get_fleet("excel").heartbeat_interval) == (12, 4)
    with pytest.raises(ValueError, match="unknown fleet"):
        get_fleet("video")
    with pytest.raises(ValueError, match="window"):
        Fleet(name="x", queue_settings=("SQS_QUEUE_EXCEL",), queue_visibility_seconds=300,
              visibility_window_seconds=1, poll_weights=(), idle_stop_threshold=0)
    with pytest.raises(ValueError, match="weights"):
        Fleet(name="x", queue_settings=("SQS_QUEUE_EXCEL",), queue_visibility_seconds=300,
              visibility_window_seconds=30, poll_weights=(1, 2), idle_stop_threshold=0)


def test_poll_weights_ask_each_queue_first_in_proportion_and_zero_weight_last():
    rng = random.Random(7)

    firsts = [weighted_order(["basic", "lite"], (3, 1), rng)[0] for _ in range(4000)]

    assert 0.7 < firsts.count("basic") / len(firsts) < 0.8
    assert weighted_order(["premium", "basic", "lite"], (0, 1, 0), rng) == ["basic", "premium", "lite"]


def test_without_weights_a_fleet_polls_in_strict_priority_order(settings):
    settings.WORKER_FLEETS = {**settings.WORKER_FLEETS, "ai": {**settings.WORKER_FLEETS["ai"], "poll_queues": [],
                                                              "poll_weights": []}}

    assert get_fleet("ai").poll_order() == [settings.SQS_QUEUE_AI_PREMIUM, settings.SQS_QUEUE_AI_BASIC,
                                            settings.SQS_QUEUE_AI_LITE]


def test_a_fleet_polls_only_its_own_queues():
    with pytest.raises(ValueError, match="own queues"):
        Fleet(name="x", queue_settings=("SQS_QUEUE_AI_LITE",), queue_visibility_seconds=300,
              visibility_window_seconds=30, poll_weights=(), idle_stop_threshold=0,
              poll_queue_settings=("SQS_QUEUE_EXCEL",))
