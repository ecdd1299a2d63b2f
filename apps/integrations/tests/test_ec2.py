import boto3
import pytest
from moto import mock_aws

from apps.integrations.ec2 import current_instance_id, stop_current_instance


@pytest.fixture
def running_instance(settings):
    with mock_aws():
        client = boto3.client("ec2", region_name=settings.AWS_REGION)
        image_id = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        instance = client.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]
        yield client, instance["InstanceId"]


def test_stop_current_instance_stops_only_this_instance(running_instance):
    client, instance_id = running_instance
    other_id = client.run_instances(ImageId=client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"],
                                    MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    stopped = stop_current_instance(instance_id=instance_id)

    states = {i["InstanceId"]: i["State"]["Name"]
              for r in client.describe_instances()["Reservations"] for i in r["Instances"]}
    assert stopped == instance_id
    assert states[instance_id] in ("stopping", "stopped")
    assert states[other_id] == "running"


def test_current_instance_id_uses_an_imdsv2_token(live_server_metadata):
    assert current_instance_id(base_url=live_server_metadata) == "i-0123456789abcdef0"


@pytest.fixture
def live_server_metadata():
    """A loopback stand-in for the instance metadata service that insists on the IMDSv2 token."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self):
            self._answer(200, "tok-1") if self.path == "/latest/api/token" else self._answer(404, "")

        def do_GET(self):
            token = self.headers.get("X-aws-ec2-metadata-token")
            ok = self.path == "/latest/meta-data/instance-id" and token == "tok-1"
            self._answer(200 if ok else 401, "i-0123456789abcdef0" if ok else "")

        def _answer(self, status, body):
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/latest"
    server.shutdown()
