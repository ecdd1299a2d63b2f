"""The queue-depth Lambda (infra/lambda/queue_depth/handler.py) against moto's SQS, SSM and CloudWatch and a real
local HTTP server standing in for the API's backlog endpoint."""

import importlib.util
import json
import subprocess
import threading
import zipfile
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

LAMBDA_DIR = Path(__file__).resolve().parents[1] / "lambda" / "queue_depth"
KEY = "k" * 40
REGION = "ap-northeast-2"


def load_handler():
    spec = importlib.util.spec_from_file_location("queue_depth_handler", LAMBDA_DIR / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeApi:
    """Answers GET /api/v1/internal/video/backlog-count/ like the API: 403 without the key, else the backlog."""

    def __init__(self, backlog=7, key=KEY):
        self.backlog, self.key, self.requests = backlog, key, []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                api.requests.append({"path": self.path, "headers": dict(self.headers)})
                if self.path != "/api/v1/internal/video/backlog-count/":
                    self._answer(404, {"code": "NOT_FOUND"})
                elif self.headers.get("X-Internal-Key") != api.key:
                    self._answer(403, {"code": "PERMISSION_DENIED"})
                else:
                    self._answer(200, {"backlog": api.backlog})

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = FakeApi()
    yield server
    server.close()


@pytest.fixture
def aws(monkeypatch):
    # Fake credentials that could never reach AWS
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        for name in ("academy-excel-jobs", "academy-ai-jobs-premium", "academy-ai-jobs-basic", "academy-ai-jobs-lite"):
            sqs.create_queue(QueueName=name)
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name="/academy/api/LAMBDA_INTERNAL_API_KEY", Value=KEY + "\n", Type="SecureString")
        yield sqs


def send(sqs, queue, count):
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    for number in range(count):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": number}))


def configure(monkeypatch, api_url, fleets=None):
    fleets = fleets or {"excel": ["academy-excel-jobs"],
                        "ai": ["academy-ai-jobs-premium", "academy-ai-jobs-basic", "academy-ai-jobs-lite"]}
    monkeypatch.setenv("FLEET_QUEUES", json.dumps(fleets))
    monkeypatch.setenv("INTERNAL_API_URL", api_url)
    monkeypatch.setenv("INTERNAL_KEY_PARAMETER", "/academy/api/LAMBDA_INTERNAL_API_KEY")
    monkeypatch.delenv("INTERNAL_KEY", raising=False)
    monkeypatch.delenv("METRIC_NAMESPACE", raising=False)


def published():
    """{fleet: [values]} of Academy/Workers QueueDepth in moto's CloudWatch."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    metrics = cloudwatch.list_metrics(Namespace="Academy/Workers", MetricName="QueueDepth")["Metrics"]
    values = {}
    now = datetime.now(UTC)
    for metric in metrics:
        assert [d["Name"] for d in metric["Dimensions"]] == ["Fleet"]
        fleet = metric["Dimensions"][0]["Value"]
        points = cloudwatch.get_metric_statistics(
            Namespace="Academy/Workers", MetricName="QueueDepth", Dimensions=metric["Dimensions"],
            StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=5), Period=600,
            Statistics=["Sum", "SampleCount"])["Datapoints"]
        values[fleet] = [(point["Sum"], point["SampleCount"]) for point in points]
    return values


def log_lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_publishes_each_fleets_visible_depth_and_the_video_backlog(aws, api, monkeypatch, capsys):
    # Given messages in the excel queue and in two of the AI fleet's three queues, and a backlog of 7 transcodes
    send(aws, "academy-excel-jobs", 2)
    send(aws, "academy-ai-jobs-premium", 1)
    send(aws, "academy-ai-jobs-lite", 3)
    configure(monkeypatch, api.url)

    # When the Lambda runs
    result = load_handler().handler({}, None)

    # Then one datum per fleet: the AI fleet's is the sum of its queues, video's is the API's backlog
    assert result == {"published": {"ai": 4, "excel": 2, "video": 7}}
    assert published() == {"ai": [(4.0, 1.0)], "excel": [(2.0, 1.0)], "video": [(7.0, 1.0)]}
    # And the API was called with the key from SSM (stripped), under the address's own Host, nothing overridden
    [request] = api.requests
    assert request["headers"]["X-Internal-Key"] == KEY
    assert request["headers"]["Host"] == api.url.removeprefix("http://")
    assert log_lines(capsys) == [{"event": "queue_depth_published", "values": {"ai": 4, "excel": 2, "video": 7}}]


def test_api_down_publishes_no_video_datum_and_the_other_fleets_still(aws, api, monkeypatch, capsys):
    # Given an API that does not answer (its port closed)
    send(aws, "academy-excel-jobs", 1)
    api.close()
    configure(monkeypatch, api.url)

    result = load_handler().handler({}, None)

    # Then no video datum at all (never a zero), the SQS fleets published, and one line says why
    assert result == {"published": {"ai": 0, "excel": 1}}
    assert set(published()) == {"ai", "excel"}
    lines = log_lines(capsys)
    assert lines[0]["event"] == "queue_depth_read_failed"
    assert lines[0]["fleet"] == "video"
    assert lines[0]["reason"].startswith("URLError ")
    assert "Connection refused" in lines[0]["reason"]
    assert KEY not in json.dumps(lines)


def test_a_refused_key_publishes_no_video_datum_and_is_read_again_next_run(aws, api, monkeypatch, capsys):
    # Given the key in SSM differs from the API's (a rotation half done)
    configure(monkeypatch, api.url)
    api.key = "n" * 40
    module = load_handler()

    first = module.handler({}, None)

    assert first == {"published": {"ai": 0, "excel": 0}}
    failed = [line for line in log_lines(capsys) if line["event"] == "queue_depth_read_failed"]
    assert failed == [{"event": "queue_depth_read_failed", "fleet": "video", "reason": "HTTP 403"}]

    # When the parameter is updated, the same container's next run reads it again and publishes the backlog
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/academy/api/LAMBDA_INTERNAL_API_KEY", Value="n" * 40, Type="SecureString", Overwrite=True)
    second = module.handler({}, None)

    assert second["published"]["video"] == 7
    assert [r["headers"]["X-Internal-Key"] for r in api.requests] == [KEY, "n" * 40]


def test_the_key_is_read_once_per_container(aws, api, monkeypatch):
    configure(monkeypatch, api.url)
    module = load_handler()
    module.handler({}, None)
    # A changed parameter is not read while the API still accepts the cached key
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/academy/api/LAMBDA_INTERNAL_API_KEY", Value="x" * 40, Type="SecureString", Overwrite=True)

    module.handler({}, None)

    assert [r["headers"]["X-Internal-Key"] for r in api.requests] == [KEY, KEY]


def test_a_missing_queue_skips_its_fleet_only(aws, api, monkeypatch, capsys):
    # Given a fleet naming a queue that does not exist
    send(aws, "academy-excel-jobs", 3)
    configure(monkeypatch, api.url, fleets={"excel": ["academy-excel-jobs"],
                                             "messaging": ["academy-messaging-jobs"]})

    result = load_handler().handler({}, None)

    assert result == {"published": {"excel": 3, "video": 7}}
    assert set(published()) == {"excel", "video"}
    assert log_lines(capsys)[0] == {
        "event": "queue_depth_read_failed", "fleet": "messaging", "queue": "academy-messaging-jobs",
        "reason": "QueueDoesNotExist AWS.SimpleQueueService.NonExistentQueue"}


@pytest.mark.parametrize("body", ['{"backlog": -1}', '{"backlog": true}', '{"count": 3}', "<html>", '{"backlog": "3"}'])
def test_an_answer_without_a_backlog_count_publishes_no_video_datum(aws, monkeypatch, body, capsys):
    api = FakeApi()
    api.backlog = None
    try:
        # The fake answers {"backlog": null}; replace the body with each malformed one
        original = api.server.RequestHandlerClass._answer

        def answer(self, status, payload, body=body):
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        api.server.RequestHandlerClass._answer = answer
        configure(monkeypatch, api.url, fleets={"excel": ["academy-excel-jobs"]})

        result = load_handler().handler({}, None)
    finally:
        api.server.RequestHandlerClass._answer = original
        api.close()

    assert result == {"published": {"excel": 0}}
    assert log_lines(capsys)[0] == {"event": "queue_depth_read_failed", "fleet": "video",
                                    "reason": "answer without a backlog count"}


def test_package_script_zips_the_handler_alone(tmp_path):
    target = tmp_path / "out" / "queue-depth.zip"

    result = subprocess.run([str(LAMBDA_DIR / "package.sh"), str(target)], capture_output=True, text=True,
                            check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(target)
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == ["handler.py"]
        assert archive.read("handler.py") == (LAMBDA_DIR / "handler.py").read_bytes()
    first = target.read_bytes()
    subprocess.run([str(LAMBDA_DIR / "package.sh"), str(target)], capture_output=True, check=True)
    assert target.read_bytes() == first
