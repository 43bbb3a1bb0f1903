"""Functions and jobs: the job queue with its dead letters, the worker that drains it, its
idempotency table, and the daily job at midnight in Seoul."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import STAGES
from tests.stacks import profile_stages
from tests.synth import Synthesized, Template, resources
from tests.templates import one, one_id

CONFIGS = {cfg.construct_id: cfg for cfg in profile_stages("default")}
DAY = 24 * 3600


def compute_key(template: Template) -> dict[str, Any]:
    (key_id,) = resources(template, "AWS::KMS::Key")
    return {"Fn::GetAtt": [key_id, "Arn"]}


@pytest.mark.parametrize("stage", STAGES)
def test_job_queue_and_dead_letters(platform: Synthesized, stage: str) -> None:
    worker = CONFIGS[stage].functions["job-worker"]
    trigger = worker.trigger
    template = platform.template(stage, "compute")
    queue = one(template, "AWS::SQS::Queue", "JobWorkerQueue")["Properties"]
    dead = one(template, "AWS::SQS::Queue", "JobWorkerDeadLetters")["Properties"]
    assert queue["QueueName"] == f"webplat-{stage.lower()}-job-worker-queue"
    assert dead["QueueName"] == f"webplat-{stage.lower()}-job-worker-dlq"
    for props in (queue, dead):
        assert props["KmsMasterKeyId"] == compute_key(template)
    assert queue["VisibilityTimeout"] == trigger.visibility_timeout_seconds == 1080  # type: ignore[union-attr]
    assert queue["VisibilityTimeout"] > worker.timeout_seconds  # a slow batch is not redelivered
    assert queue["MessageRetentionPeriod"] == trigger.retention_days * DAY  # type: ignore[union-attr]
    assert dead["MessageRetentionPeriod"] == 14 * DAY  # the longest SQS keeps, to investigate
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {
            "Fn::GetAtt": [one_id(template, "AWS::SQS::Queue", "JobWorkerDeadLetters"), "Arn"]
        },
        "maxReceiveCount": trigger.max_receive_count,  # type: ignore[union-attr]
    }


@pytest.mark.parametrize("stage", STAGES)
def test_every_queue_refuses_plain_http(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "compute")
    queues = resources(template, "AWS::SQS::Queue")
    policies = resources(template, "AWS::SQS::QueuePolicy").values()
    assert {p["Properties"]["Queues"][0]["Ref"] for p in policies} == set(queues)
    for policy in policies:
        found = policy["Properties"]["PolicyDocument"]["Statement"]
        (statement,) = [s for s in found if s["Effect"] == "Deny"]
        assert statement["Action"] == "sqs:*"
        assert statement["Principal"] == {"AWS": "*"}
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for grant in (s for s in found if s["Effect"] == "Allow"):  # an event rule's failures
            assert grant["Principal"] == {"Service": "events.amazonaws.com"}
            assert "aws:SourceArn" in grant["Condition"]["ArnEquals"]


@pytest.mark.parametrize("stage", STAGES)
def test_worker_function(platform: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    worker = cfg.functions["job-worker"]
    template = platform.template(stage, "compute")
    props = one(template, "AWS::Lambda::Function", "Functionjobworker")["Properties"]
    assert props["FunctionName"] == f"webplat-{stage.lower()}-job-worker"
    assert props["Runtime"] == worker.runtime.value == "python3.14"
    assert props["Handler"] == worker.handler == "handler.handler"
    assert props["Architectures"] == [worker.architecture.value]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] == worker.reserved_concurrency
    assert (props["Timeout"], props["MemorySize"]) == (worker.timeout_seconds, worker.memory_mib)
    assert props["KmsKeyArn"] == compute_key(template)  # its environment, encrypted
    vpc = props["VpcConfig"]
    (group,) = vpc["SecurityGroupIds"]
    assert "SecurityGroupsfnjobworker" in group["Fn::ImportValue"]
    assert len(vpc["SubnetIds"]) == len(cfg.network.availability_zones)
    assert all("privateSubnet" in s["Fn::ImportValue"] for s in vpc["SubnetIds"])
    log_group = template["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
    assert log_group["LogGroupName"] == f"/webplat/{stage.lower()}/functions/job-worker"
    assert log_group["RetentionInDays"] == cfg.retention("functions")


@pytest.mark.parametrize(("stage", "reserved"), [("Dev", 2), ("Staging", 5), ("Prod", 20)])
def test_worker_concurrency_per_stage(platform: Synthesized, stage: str, reserved: int) -> None:
    props = one(platform.template(stage, "compute"), "AWS::Lambda::Function", "Functionjobworker")
    assert props["Properties"]["ReservedConcurrentExecutions"] == reserved


@pytest.mark.parametrize("stage", STAGES)
def test_the_worker_reports_partial_batch_failures(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "compute")
    trigger = CONFIGS[stage].functions["job-worker"].trigger
    (mapping,) = resources(template, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BatchSize"] == trigger.batch_size  # type: ignore[union-attr]
    assert props["EventSourceArn"] == {
        "Fn::GetAtt": [one_id(template, "AWS::SQS::Queue", "JobWorkerQueue"), "Arn"]
    }
    assert props["FunctionName"] == {
        "Ref": one_id(template, "AWS::Lambda::Function", "Functionjobworker")
    }


@pytest.mark.parametrize("stage", STAGES)
def test_idempotency_table_expires_and_is_encrypted(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "compute")
    table = one(template, "AWS::DynamoDB::GlobalTable")["Properties"]
    assert table["TableName"] == f"webplat-{stage.lower()}-job-worker-idempotency"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    (replica,) = table["Replicas"]
    assert replica["SSESpecification"] == {"KMSMasterKeyId": compute_key(template)}
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    function = one(template, "AWS::Lambda::Function", "Functionjobworker")["Properties"]
    assert function["Environment"]["Variables"]["IDEMPOTENCY_TABLE"] == {
        "Ref": one_id(template, "AWS::DynamoDB::GlobalTable", "JobWorkerIdempotency")
    }


@pytest.mark.parametrize("stage", STAGES)
def test_daily_job_runs_at_midnight_seoul(platform: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    job = cfg.jobs["daily-report"]
    template = platform.template(stage, "compute")
    (schedule,) = resources(template, "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["Name"] == f"webplat-{stage.lower()}-daily-report"
    assert (props["ScheduleExpression"], props["ScheduleExpressionTimezone"]) == (
        job.expression,
        cfg.time_zone,
    )
    assert (props["ScheduleExpression"], props["ScheduleExpressionTimezone"]) == (
        "cron(0 0 * * ? *)",
        "Asia/Seoul",
    )
    assert props["State"] == "ENABLED"
    target = props["Target"]
    queue = one_id(template, "AWS::SQS::Queue", "JobWorkerQueue")
    assert target["Arn"] == {"Fn::GetAtt": [queue, "Arn"]}  # the job queue, not the function
    assert json.loads(target["Input"]) == job.message == {"job_type": "daily-report"}
    dead = one_id(template, "AWS::SQS::Queue", "JobWorkerDeadLetters")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dead, "Arn"]}}
