"""Least-privilege IAM documents: what each role may do, evaluated as documents, not as strings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from components.grants import GrantTargets, file_system_policy, prefix_statements, task_role_statements

TARGETS = GrantTargets(
    logs_bucket_arn="arn:aws:s3:::logs",
    data_bucket_arn="arn:aws:s3:::data",
    queue_arns={q: f"arn:aws:sqs:r:1:{q}" for q in ("analytics", "ml", "reporting")},
    secrets_arn_prefix="arn:aws:secretsmanager:r:1:secret:airstack/prod",
    ecs_tasks_arn="arn:aws:ecs:r:1:task/airstack-prod/*",
    db_instance_arn="arn:aws:rds:r:1:db:airstack-prod-metastore",
    rds_master_secrets="arn:aws:secretsmanager:r:1:secret:rds!db-*",
)


def _actions(statements: list[dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for s in statements:
        for action in s["Action"]:
            found.setdefault(action, []).extend(s["Resource"])
    return found


def test_a_worker_reads_its_own_queue_and_secrets_and_writes_its_own_logs_and_data() -> None:
    grants = _actions(task_role_statements("worker", TARGETS, "ml", "ml"))
    assert grants["sqs:ReceiveMessage"] == ["arn:aws:sqs:r:1:ml"]
    assert grants["s3:PutObject"] == ["arn:aws:s3:::logs/task-logs/ml/*", "arn:aws:s3:::data/teams/ml/*"]
    assert grants["secretsmanager:GetSecretValue"] == ["arn:aws:secretsmanager:r:1:secret:airstack/prod/teams/ml/*"]
    assert not any(a.startswith("elasticfilesystem:") for a in grants)


@pytest.mark.parametrize("role", ["api-server", "scheduler", "dag-processor", "triggerer"])
def test_core_roles_never_consume_queues_or_touch_dags(role: str) -> None:
    grants = _actions(task_role_statements(role, TARGETS, None, None))  # type: ignore[arg-type]
    assert "sqs:ReceiveMessage" not in grants
    assert not any(a.startswith("elasticfilesystem:") for a in grants)
    assert all(r != "*" for resources in grants.values() for r in resources)


def test_scheduler_sends_to_every_queue_and_api_server_only_reads_logs() -> None:
    scheduler = _actions(task_role_statements("scheduler", TARGETS, None, None))
    assert sorted(scheduler["sqs:SendMessage"]) == sorted(TARGETS.queue_arns.values())
    api = _actions(task_role_statements("api-server", TARGETS, None, None))
    assert api["s3:GetObject"] == ["arn:aws:s3:::logs/task-logs/*"]
    assert "s3:PutObject" not in api


def test_a_prefix_grant_covers_exactly_that_prefix() -> None:
    objects, listing = prefix_statements("arn:aws:s3:::logs", "task-logs/ml/", "write")
    assert objects == {
        "Effect": "Allow",
        "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
        "Resource": ["arn:aws:s3:::logs/task-logs/ml/*"],
    }
    assert listing["Resource"] == ["arn:aws:s3:::logs"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["task-logs/ml/*"]}}
    [read, _] = prefix_statements("arn:aws:s3:::logs", "task-logs/", "read")
    assert read["Action"] == ["s3:GetObject"]


def test_the_file_system_lets_each_role_mount_only_through_its_access_points_and_only_over_tls() -> None:
    policy = file_system_policy(
        "arn:fs", readers={"arn:role/ml": ["arn:ap/ml"], "arn:role/dp": ["arn:ap/ml", "arn:ap/x"]}
    )
    deny, *allows = policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    by_role = {s["Principal"]["AWS"]: s for s in allows}
    assert by_role["arn:role/ml"]["Condition"] == {"StringEquals": {"elasticfilesystem:AccessPointArn": ["arn:ap/ml"]}}
    assert all(s["Action"] == ["elasticfilesystem:ClientMount"] for s in allows), "readers never get ClientWrite"


@pytest.mark.parametrize("role", ["scheduler", "dag-processor", "triggerer", "worker"])
def test_the_metrics_agent_publishes_only_into_the_stacks_namespace(role: str) -> None:
    team = ("ml", "ml") if role == "worker" else (None, None)
    with_metrics = replace(TARGETS, metrics_namespace="airstack/prod/airflow")
    [put] = [s for s in task_role_statements(role, with_metrics, *team) if "cloudwatch:PutMetricData" in s["Action"]]
    assert put["Condition"] == {"StringEquals": {"cloudwatch:namespace": "airstack/prod/airflow"}}
    assert not [s for s in task_role_statements(role, TARGETS, *team) if "cloudwatch:PutMetricData" in s["Action"]]
    api = task_role_statements("api-server", with_metrics, None, None)
    assert not [s for s in api if "cloudwatch:PutMetricData" in s["Action"]], "the api-server runs no agent"
