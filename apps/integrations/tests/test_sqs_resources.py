"""scripts/create_sqs_resources.py on moto: every queue, its DLQ and redrive policy; running it twice is harmless."""

import importlib.util
import json

import boto3
import pytest
from django.conf import settings as django_settings

from apps.integrations.queues import configured_queue_names, sqs_ensure_queues

from .conftest import AWS_REGION


def load_script():
    spec = importlib.util.spec_from_file_location("create_sqs_resources",
                                                  django_settings.BASE_DIR / "scripts" / "create_sqs_resources.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sqs(aws):
    return boto3.client("sqs", region_name=AWS_REGION)


def attributes(sqs, name: str) -> dict:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_script_creates_every_queue_with_dlq_and_prints_urls(sqs, settings, capsys):
    settings.SQS_MAX_RECEIVE_COUNT = 5

    code = load_script().main([AWS_REGION])

    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    names = configured_queue_names()
    assert names == ["academy-excel-jobs", "academy-messaging-jobs", "academy-ai-jobs-lite", "academy-ai-jobs-basic",
                     "academy-ai-jobs-premium"]
    expected = [n for name in names for n in (f"{name}-dlq", name)]
    assert [line.split("\t")[0] for line in lines] == expected
    assert all(line.split("\t")[1].endswith("/" + line.split("\t")[0]) for line in lines)
    assert sorted(url.rsplit("/", 1)[1] for url in sqs.list_queues()["QueueUrls"]) == sorted(expected)
    # Each queue's own visibility comes from its fleet's row: the AI queues keep an hour, as the seeds set them.
    visibility = {"academy-excel-jobs": "300", "academy-messaging-jobs": "300", "academy-ai-jobs-lite": "3600",
                  "academy-ai-jobs-basic": "3600", "academy-ai-jobs-premium": "3600"}
    for name in names:
        main = attributes(sqs, name)
        dlq = attributes(sqs, f"{name}-dlq")
        assert main["ReceiveMessageWaitTimeSeconds"] == "20"
        assert main["VisibilityTimeout"] == visibility[name]
        assert json.loads(main["RedrivePolicy"]) == {"deadLetterTargetArn": dlq["QueueArn"], "maxReceiveCount": 5}
        assert dlq["MessageRetentionPeriod"] == "1209600"
        assert "RedrivePolicy" not in dlq


def test_running_again_updates_attributes_and_creates_nothing_twice(sqs, settings):
    first = sqs_ensure_queues(AWS_REGION)
    settings.WORKER_FLEETS = {**settings.WORKER_FLEETS,
                              "excel": {**settings.WORKER_FLEETS["excel"], "queue_visibility_seconds": 900}}
    settings.SQS_MAX_RECEIVE_COUNT = 2

    second = sqs_ensure_queues(AWS_REGION)

    assert second == first
    assert len(sqs.list_queues()["QueueUrls"]) == 10
    main = attributes(sqs, "academy-excel-jobs")
    assert main["VisibilityTimeout"] == "900"
    assert json.loads(main["RedrivePolicy"])["maxReceiveCount"] == 2


def test_script_refuses_extra_arguments(capsys):
    assert load_script().main(["ap-northeast-2", "extra"]) == 2
    assert "Usage" in capsys.readouterr().out
