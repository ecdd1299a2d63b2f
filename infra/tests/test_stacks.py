"""The estate as code (infra/cloudformation): the stacks deploy, in the runbook's order, into moto's CloudFormation,
and what the code expects exists under the names the settings use. moto deploys network, queues, iam, batch,
observability and compute; what it does not implement (RDS endpoints, ElastiCache, alarms, metric filters, scaling
policies) is asserted by reading the templates. The data stack's exports come from a stand-in stack."""

import ast
import json
import string
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from cfnlint.decode import decode
from django.conf import settings
from moto import mock_aws

from apps.integrations.queues import DLQ_SUFFIX, configured_queue_names, sqs_ensure_queues
from apps.jobs.fleets import all_fleets
from apps.jobs.scheduler import all_periodic

INFRA = Path(__file__).resolve().parents[1]
TEMPLATES = INFRA / "cloudformation"
BATCH_JSON = INFRA / "batch"
REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
ENV = "prod"
STACK_ORDER = ["network", "data", "queues", "iam", "observability", "batch", "compute"]
# Filled into infra/batch/*.json's ${...} placeholders, and passed to the stacks that take them.
IMAGE_TAG = "0123abc"
API_HOST = "api.academy.example"
R2_ENDPOINT = "https://0000.r2.cloudflarestorage.com"
DB_HOST = "academy-prod.abc.ap-northeast-2.rds.amazonaws.com"

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")


def template(name: str) -> dict:
    parsed, matches = decode(str(TEMPLATES / f"{name}.yaml"))
    assert matches == []
    return parsed


def resources(name: str, kind: str) -> dict:
    return {key: value["Properties"] for key, value in template(name)["Resources"].items() if value["Type"] == kind}


def queue_arn(name: str) -> dict:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{name}"}


@pytest.fixture(scope="module")
def estate():
    """Every stack created in order, as an operator would, in one moto account."""
    with pytest.MonkeyPatch.context() as patch, mock_aws(config={"batch": {"use_docker": False}}):
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
            patch.setenv(name, value)
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=REGION + zone)
                   ["Subnet"]["SubnetId"] for n, zone in enumerate("acac")]
        # What the operator makes before the stacks (docs/deploy.md sections 3, 5, 12, 13).
        boto3.client("ssm", region_name=REGION).put_parameter(Name="/academy/api/DB_PASSWORD", Value="p" * 32,
                                                              Type="SecureString")
        boto3.client("iam", region_name=REGION).create_role(
            RoleName="AWSServiceRoleForBatch", Path="/aws-service-role/batch.amazonaws.com/",
            AssumeRolePolicyDocument="{}")
        certificate = boto3.client("acm", region_name=REGION).request_certificate(
            DomainName=API_HOST)["CertificateArn"]
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="academy-prod-artifacts", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket="academy-prod-artifacts", Key="queue-depth/test.zip",
                      Body=(INFRA / "lambda" / "queue_depth" / "handler.py").read_bytes())
        parameters = {
            "network": {"VpcId": vpc, "PublicSubnetIds": ",".join(subnets[:2]),
                        "PrivateSubnetIds": ",".join(subnets[2:])},
            "queues": {}, "iam": {},
            "batch": {"ImageTag": IMAGE_TAG, "ApiHost": API_HOST, "R2EndpointUrl": R2_ENDPOINT},
            "observability": {"LambdaCodeBucket": "academy-prod-artifacts", "LambdaCodeKey": "queue-depth/test.zip"},
            "compute": {"CertificateArn": certificate, "ImageTag": IMAGE_TAG},
        }
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        statuses = {}
        for name in STACK_ORDER:
            if name == "data":
                # moto has no RDS endpoint attribute nor ElastiCache: a stand-in exports what later stacks import.
                body = json.dumps({"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}, "Outputs": {
                    "DbHost": {"Value": DB_HOST, "Export": {"Name": f"academy-{ENV}-db-host"}}}})
                cloudformation.create_stack(StackName=f"academy-{ENV}-data", TemplateBody=body)
                continue
            cloudformation.create_stack(
                StackName=f"academy-{ENV}-{name}", TemplateBody=(TEMPLATES / f"{name}.yaml").read_text(),
                Parameters=[{"ParameterKey": "EnvName", "ParameterValue": ENV}]
                + [{"ParameterKey": key, "ParameterValue": value} for key, value in parameters[name].items()],
                Capabilities=["CAPABILITY_NAMED_IAM"])
            statuses[name] = cloudformation.describe_stacks(StackName=f"academy-{ENV}-{name}")["Stacks"][0][
                "StackStatus"]
        exports = {e["Name"]: e["Value"] for e in cloudformation.list_exports()["Exports"]}
        yield {"statuses": statuses, "exports": exports, "certificate": certificate, "subnets": subnets}


def client(service: str):
    return boto3.client(service, region_name=REGION)


# ---------------------------------------------------------------------------
# Every template
# ---------------------------------------------------------------------------
def test_every_template_passes_cfn_lint():
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    result = subprocess.run([cfn_lint, *sorted(map(str, TEMPLATES.glob("*.yaml")))], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {path.stem for path in TEMPLATES.glob("*.yaml")} == set(STACK_ORDER)


def test_the_stacks_deploy_in_the_runbooks_order(estate):
    assert estate["statuses"] == dict.fromkeys(["network", "queues", "iam", "batch", "observability", "compute"],
                                               "CREATE_COMPLETE")
    assert estate["exports"][f"academy-{ENV}-internal-api-url"].startswith("http://academy-prod-internal-")


def test_every_template_takes_the_environment_name():
    for name in STACK_ORDER:
        assert template(name)["Parameters"]["EnvName"]["Default"] == ENV


# ---------------------------------------------------------------------------
# Queues: the fleet table, as scripts/create_sqs_resources.py makes them
# ---------------------------------------------------------------------------
def queue_attributes(region: str) -> dict:
    sqs = boto3.client("sqs", region_name=region)
    answer = {}
    for url in sqs.list_queues()["QueueUrls"]:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attributes.get("RedrivePolicy", "null"))
        answer[url.rsplit("/", 1)[1]] = {
            "VisibilityTimeout": attributes["VisibilityTimeout"],
            "ReceiveMessageWaitTimeSeconds": attributes["ReceiveMessageWaitTimeSeconds"],
            "MessageRetentionPeriod": attributes["MessageRetentionPeriod"],
            "dlq": redrive and redrive["deadLetterTargetArn"].rsplit(":", 1)[1],
            "maxReceiveCount": redrive and int(redrive["maxReceiveCount"]),
        }
    return answer


def test_the_queues_stack_makes_what_create_sqs_resources_makes_from_the_fleet_table(estate):
    # Given the script run against another region of the same moto account
    sqs_ensure_queues("us-east-1")
    from_script = queue_attributes("us-east-1")

    from_stack = queue_attributes(REGION)

    # Then the stack's queues are exactly the script's, attribute for attribute
    assert from_stack == from_script
    # And they are every fleet's queues and their DLQs, with the fleet's visibility and the redrive of settings
    fleet_queues = {name: fleet for fleet in all_fleets() for name in fleet.queue_names()}
    assert set(fleet_queues) == set(configured_queue_names())
    assert set(from_stack) == set(fleet_queues) | {name + DLQ_SUFFIX for name in fleet_queues}
    for name, fleet in fleet_queues.items():
        assert from_stack[name]["VisibilityTimeout"] == str(fleet.queue_visibility_seconds)
        assert from_stack[name]["dlq"] == name + DLQ_SUFFIX
        assert from_stack[name]["maxReceiveCount"] == settings.SQS_MAX_RECEIVE_COUNT
        assert from_stack[name + DLQ_SUFFIX]["dlq"] is None


def worker_pools() -> dict[str, list[str]]:
    """Each worker group's polled queues: a fleet's normal workers, and the AI fleet's premium-only ones apart."""
    pools = {fleet.name: fleet.poll_queue_names() for fleet in all_fleets()}
    pools["ai-premium"] = [settings.SQS_QUEUE_AI_PREMIUM]
    return pools


def test_each_fleet_appears_wherever_the_estate_names_fleets():
    """A fleet added to settings.WORKER_FLEETS but not to the roles, the Lambda or the scaling fails here."""
    fleets = {fleet.name: fleet.queue_names() for fleet in all_fleets()}
    pools = worker_pools()
    # Every queue is polled by some group, and counted once
    polled = [queue for queues in pools.values() for queue in queues]
    assert sorted(polled) == sorted(configured_queue_names())
    # Its role consumes exactly its own queues
    roles = resources("iam", "AWS::IAM::Role")
    for name, queues in fleets.items():
        [role] = [r for r in roles.values() if r["RoleName"] == {"Fn::Sub": f"academy-${{EnvName}}-worker-{name}"}]
        [statement] = [s for s in role["Policies"][0]["PolicyDocument"]["Statement"] if s["Sid"] == "ConsumeOwnQueues"]
        assert statement["Resource"] == [queue_arn(queue) for queue in queues]
    assert len([r for r in roles.values() if "worker-" in json.dumps(r["RoleName"])]) == len(fleets)
    # The Lambda publishes one depth per group, of the queues that group polls
    [function] = resources("observability", "AWS::Lambda::Function").values()
    assert json.loads(function["Environment"]["Variables"]["FLEET_QUEUES"]) == pools
    # Each group scales on its own Academy/Workers datum per in-service worker
    groups = resources("compute", "AWS::AutoScaling::AutoScalingGroup")
    policies = resources("compute", "AWS::AutoScaling::ScalingPolicy")
    for name in pools:
        [group] = [key for key, g in groups.items()
                   if g["AutoScalingGroupName"] == {"Fn::Sub": f"academy-${{EnvName}}-worker-{name}"}]
        [policy] = [p for p in policies.values() if p["AutoScalingGroupName"] == {"Ref": group}]
        tracking = policy["TargetTrackingConfiguration"]
        assert policy["PolicyType"] == "TargetTrackingScaling"
        assert tracking["TargetValue"] == {"Ref": "TargetMessagesPerWorker"}
        depth, workers, expression = tracking["CustomizedMetricSpecification"]["Metrics"]
        assert depth["MetricStat"]["Metric"] == {"Namespace": "Academy/Workers", "MetricName": "QueueDepth",
                                                 "Dimensions": [{"Name": "Fleet", "Value": name}]}
        assert workers["MetricStat"]["Metric"]["Dimensions"] == [
            {"Name": "AutoScalingGroupName", "Value": {"Fn::Sub": f"academy-${{EnvName}}-worker-{name}"}}]
        assert expression == {"Id": "perworker", "Expression": "depth / workers",
                              "Label": "visible messages per worker", "ReturnData": True}
    premium_user_data = json.dumps(template("compute")["Resources"]["AiPremiumWorkerLaunchTemplate"])
    assert "-e AI_WORKER_PREMIUM_ONLY=true" in premium_user_data
    # Each queue has its DLQ alarm and its oldest-message alarm
    alarms = resources("observability", "AWS::CloudWatch::Alarm").values()
    for queue in configured_queue_names():
        assert [(a["MetricName"], a["Threshold"], a["ComparisonOperator"]) for a in alarms
                if a.get("Dimensions") == [{"Name": "QueueName", "Value": queue + DLQ_SUFFIX}]] == [
            ("ApproximateNumberOfMessagesVisible", 0, "GreaterThanThreshold")]
        assert [a["MetricName"] for a in alarms if a.get("Dimensions") == [{"Name": "QueueName", "Value": queue}]] == [
            "ApproximateAgeOfOldestMessage"]


def test_the_queues_template_defaults_to_settings_max_receive_count():
    assert template("queues")["Parameters"]["MaxReceiveCount"]["Default"] == settings.SQS_MAX_RECEIVE_COUNT


# ---------------------------------------------------------------------------
# Roles and Batch: the names the code reads, the JSON of infra/batch
# ---------------------------------------------------------------------------
def filled(name: str) -> dict:
    text = string.Template((BATCH_JSON / name).read_text()).substitute(
        ACCOUNT_ID=ACCOUNT, AWS_REGION=REGION, IMAGE_TAG=IMAGE_TAG, API_HOST=API_HOST, DB_HOST=DB_HOST,
        DB_NAME="academy", DB_USER="academy", R2_ENDPOINT_URL=R2_ENDPOINT,
        INTERNAL_API_BASE_URL="http://academy-prod-internal-1.ap-northeast-2.elb.amazonaws.com")
    return json.loads(text)


def policy_document(iam, role_name: str, policy_name: str) -> dict:
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    # moto's CloudFormation stores an inline policy as the text of a Python dict; AWS answers the document itself
    return ast.literal_eval(document) if isinstance(document, str) else document


def test_the_batch_roles_the_code_names_exist_with_the_policies_of_infra_batch(estate):
    iam = client("iam")
    for role_name, policy_file in [(settings.VIDEO_BATCH_JOB_ROLE_NAME, "job-role-policy.json"),
                                   (settings.VIDEO_BATCH_EXECUTION_ROLE_NAME, "execution-role-policy.json")]:
        role = iam.get_role(RoleName=role_name)["Role"]
        assert role["AssumeRolePolicyDocument"] == filled("ecs-tasks-trust-policy.json")
        [policy_name] = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
        assert policy_document(iam, role_name, policy_name) == filled(policy_file)
    profile = iam.get_instance_profile(InstanceProfileName="academy-video-batch-instance")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["academy-video-batch-instance-role"]


def test_the_lambda_role_cannot_make_a_log_group_with_no_retention(estate):
    iam = client("iam")
    document = policy_document(iam, f"academy-{ENV}-queue-depth-lambda", "queue-depth")
    actions = [a for s in document["Statement"] for a in (s["Action"] if isinstance(s["Action"], list)
                                                          else [s["Action"]])]
    assert "logs:CreateLogGroup" not in actions
    assert not any(a.endswith("*") for a in actions)
    assert iam.list_attached_role_policies(RoleName=f"academy-{ENV}-queue-depth-lambda")["AttachedPolicies"] == []


def test_batch_queue_and_job_definition_exist_under_the_settings_names(estate):
    batch = client("batch")
    [queue] = batch.describe_job_queues(jobQueues=[settings.BATCH_JOB_QUEUE])["jobQueues"]
    assert (queue["state"], queue["status"]) == ("ENABLED", "VALID")
    assert [(o["order"], o["computeEnvironment"].rsplit("/", 1)[1]) for o in queue["computeEnvironmentOrder"]] == [
        (1, "academy-video-spot"), (2, "academy-video-ondemand")]
    environments = {e["computeEnvironmentName"]: e for e in batch.describe_compute_environments()[
        "computeEnvironments"]}
    assert {name: e["computeResources"]["type"] for name, e in environments.items()} == {
        "academy-video-spot": "SPOT", "academy-video-ondemand": "EC2"}
    for environment in environments.values():
        assert environment["computeResources"]["instanceRole"] == (
            f"arn:aws:iam::{ACCOUNT}:instance-profile/academy-video-batch-instance")
        assert environment["computeResources"]["subnets"] == estate["subnets"][2:]


def test_the_job_definition_is_infra_batch_job_definition_json(estate):
    [deployed] = client("batch").describe_job_definitions(
        jobDefinitionName=settings.BATCH_JOB_DEFINITION, status="ACTIVE")["jobDefinitions"]
    expected = filled("job-definition.json")
    expected["containerProperties"]["environment"][1]["value"] = estate["exports"][f"academy-{ENV}-internal-api-url"]

    # moto keeps these fields; the others (platform, timeout, tag propagation) are read from the template below
    for key in ("jobDefinitionName", "type", "parameters", "retryStrategy", "tags", "containerProperties"):
        assert deployed[key] == expected[key], key
    [properties] = resources("batch", "AWS::Batch::JobDefinition").values()
    assert properties["PlatformCapabilities"] == expected["platformCapabilities"]
    assert properties["Timeout"] == {"AttemptDurationSeconds": expected["timeout"]["attemptDurationSeconds"]}
    assert properties["PropagateTags"] is expected["propagateTags"]
    assert set(expected) == {"jobDefinitionName", "type", "parameters", "retryStrategy", "tags",
                             "containerProperties", "platformCapabilities", "timeout", "propagateTags"}


# ---------------------------------------------------------------------------
# Observability: log groups, the Lambda, its schedule, the alarms
# ---------------------------------------------------------------------------
def test_every_log_group_keeps_14_days_and_the_code_names_exist(estate):
    groups = {g["logGroupName"]: g.get("retentionInDays") for g in client("logs").describe_log_groups()["logGroups"]}

    assert groups == dict.fromkeys([
        f"/academy/{ENV}/api", f"/academy/{ENV}/scheduler", *(f"/academy/{ENV}/worker-{f.name}" for f in all_fleets()),
        settings.VIDEO_BATCH_LOG_GROUP, f"/aws/lambda/academy-{ENV}-queue-depth"], 14)
    for name in STACK_ORDER:
        for properties in resources(name, "AWS::Logs::LogGroup").values():
            assert properties["RetentionInDays"] == 14


def test_the_lambda_runs_every_minute_against_the_internal_load_balancer(estate):
    function = client("lambda").get_function(FunctionName=f"academy-{ENV}-queue-depth")["Configuration"]
    variables = function["Environment"]["Variables"]
    assert function["Handler"] == "handler.handler"
    assert function["Runtime"] == "python3.12"
    assert variables["INTERNAL_API_URL"] == estate["exports"][f"academy-{ENV}-internal-api-url"]
    assert variables["INTERNAL_KEY_PARAMETER"] == "/academy/api/LAMBDA_INTERNAL_API_KEY"
    assert variables["METRIC_NAMESPACE"] == "Academy/Workers"
    events = client("events")
    rule = events.describe_rule(Name=f"academy-{ENV}-queue-depth")
    assert (rule["ScheduleExpression"], rule["State"]) == ("rate(1 minute)", "ENABLED")
    [target] = events.list_targets_by_rule(Rule=f"academy-{ENV}-queue-depth")["Targets"]
    assert target["Arn"] == function["FunctionArn"]


def test_alarms_watch_the_video_backlog_and_its_silence_and_the_schedulers_silence():
    alarms = {key.removesuffix("Alarm"): a for key, a in resources("observability", "AWS::CloudWatch::Alarm").items()}
    video = [{"Name": "Fleet", "Value": "video"}]
    assert (alarms["VideoBacklog"]["Dimensions"], alarms["VideoBacklog"]["Threshold"]) == (
        video, {"Ref": "VideoBacklogThreshold"})
    silent = alarms["VideoBacklogSilent"]
    assert (silent["Dimensions"], silent["Statistic"], silent["ComparisonOperator"], silent["TreatMissingData"]) == (
        video, "SampleCount", "LessThanThreshold", "breaching")
    scheduler = alarms["SchedulerSilent"]
    assert (scheduler["Namespace"], scheduler["MetricName"], scheduler["Period"], scheduler["TreatMissingData"]) == (
        "Academy/Scheduler", "PeriodicRuns", 300, "breaching")
    [metric_filter] = resources("observability", "AWS::Logs::MetricFilter").values()
    assert metric_filter["LogGroupName"] == {"Ref": "SchedulerLogGroup"}
    assert metric_filter["FilterPattern"] == '{ $.event = "scheduler_periodic_ran" }'
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())


def test_the_active_scheduler_logs_what_the_silence_alarm_counts_well_within_its_period():
    # The filter counts scheduler_periodic_ran: some task must run at least once a minute for a 5-minute sum.
    assert min(task.every_seconds for task in all_periodic()) <= 60


# ---------------------------------------------------------------------------
# Compute: HTTPS, 80 -> 443, /health, the internal listener
# ---------------------------------------------------------------------------
def test_the_public_load_balancer_redirects_80_to_443_and_serves_https_on_the_certificate(estate):
    elbv2 = client("elbv2")
    listeners = {listener["Port"]: listener for listener in elbv2.describe_listeners(
        LoadBalancerArn=estate["exports"][f"academy-{ENV}-public-alb-arn"])["Listeners"]}
    assert set(listeners) == {80, 443}
    [redirect] = listeners[80]["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert (redirect["RedirectConfig"]["Protocol"], redirect["RedirectConfig"]["Port"],
            redirect["RedirectConfig"]["StatusCode"]) == ("HTTPS", "443", "HTTP_301")
    assert listeners[443]["Protocol"] == "HTTPS"
    assert listeners[443]["Certificates"] == [{"CertificateArn": estate["certificate"]}]
    [forward] = listeners[443]["DefaultActions"]
    [group] = elbv2.describe_target_groups(TargetGroupArns=[forward["TargetGroupArn"]])["TargetGroups"]
    assert (group["Port"], group["HealthCheckPath"], group["Matcher"]["HttpCode"]) == (8000, "/health", "200")


def test_the_internal_load_balancer_forwards_internal_paths_and_health_only(estate):
    elbv2 = client("elbv2")
    [listener] = elbv2.describe_listeners(
        LoadBalancerArn=estate["exports"][f"academy-{ENV}-internal-alb-arn"])["Listeners"]
    assert (listener["Port"], listener["Protocol"]) == (80, "HTTP")
    assert listener["DefaultActions"][0]["Type"] == "fixed-response"
    rules = [r for r in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if not r["IsDefault"]]
    [rule] = rules
    [condition] = rule["Conditions"]
    assert sorted(condition.get("PathPatternConfig", {}).get("Values") or condition["Values"]) == [
        "/api/v1/internal/*", "/health", "/health/"]
    [group] = elbv2.describe_target_groups(TargetGroupArns=[rule["Actions"][0]["TargetGroupArn"]])["TargetGroups"]
    assert (group["Port"], group["HealthCheckPath"]) == (8000, "/health")


def test_the_api_the_scheduler_and_every_fleet_have_their_group(estate):
    groups = {g["AutoScalingGroupName"]: g for g in client("autoscaling").describe_auto_scaling_groups()[
        "AutoScalingGroups"]}
    assert set(groups) == {f"academy-{ENV}-api", f"academy-{ENV}-scheduler",
                           *(f"academy-{ENV}-worker-{name}" for name in worker_pools())}
    assert (groups[f"academy-{ENV}-scheduler"]["MinSize"], groups[f"academy-{ENV}-scheduler"]["MaxSize"]) == (1, 1)
    assert len(groups[f"academy-{ENV}-api"]["TargetGroupARNs"]) == 2
    assert groups[f"academy-{ENV}-api"]["HealthCheckType"] == "ELB"


# ---------------------------------------------------------------------------
# Data (not deployable in moto): read from the template
# ---------------------------------------------------------------------------
def test_the_database_is_private_encrypted_and_kept_7_days():
    [database] = resources("data", "AWS::RDS::DBInstance").values()
    assert database["PubliclyAccessible"] is False
    assert database["BackupRetentionPeriod"] == 7
    assert database["StorageEncrypted"] is True
    assert database["DeletionProtection"] is True
    assert database["Engine"] == "postgres"
    assert database["MasterUserPassword"] == {"Fn::Sub": "{{resolve:ssm-secure:${DbPasswordParameter}}}"}
    assert template("data")["Resources"]["Database"]["DeletionPolicy"] == "Snapshot"
    [redis] = resources("data", "AWS::ElastiCache::ReplicationGroup").values()
    assert redis["Engine"] == "redis"
    assert "Fn::ImportValue" in redis["SecurityGroupIds"][0]


def test_the_readiness_check_passes_on_what_the_stacks_create(estate, settings):
    """docs/deploy.md §11 against the estate of §1–§9: every queue, the Batch queue, definition and roles PASS."""
    from apps.integrations import readiness

    settings.AWS_REGION = REGION
    clients = readiness.CloudClients()

    outcomes = {f"queue {name}": readiness.check_queue(name, clients) for name in configured_queue_names()}
    outcomes["batch job queue"] = readiness.check_batch_job_queue(clients)
    outcomes["batch job definition"] = readiness.check_batch_job_definition(clients)
    outcomes["batch roles"] = readiness.check_batch_roles(clients)

    assert len(outcomes) == len(configured_queue_names()) + 3
    assert outcomes == {name: (readiness.PASS, "") for name in outcomes}
