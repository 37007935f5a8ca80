"""ML: a small model per customer segment, trained in parallel on the ML workers and published once per day.

What this example shows (and the DAG tests check):
- The heavy part (training) is a mapped task, one per segment; every task of this directory runs on the ml
  queue, whose workers are sized for it (the core image's cluster policy routes by DAG directory), while
  scheduling and the other teams' workers stay unaffected. The DAG sets no queue of its own.
- Deterministic: the training data and the model depend only on the run's day (seeded), so a retry or a
  re-run publishes the same model to the same key (``replace=True``): idempotent.
- Heavy imports and all configuration are inside the tasks: nothing but ``airflow.sdk`` is imported when the
  dag-processor parses the file; the ``data_bucket`` and ``data_prefix`` Variables (``teams/ml/``, the only
  prefix the team's role may write) are rendered on the team's workers.
- Short and bounded: each task has an execution timeout, and the example finishes in seconds.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Variable, dag, get_current_context, task

SEGMENTS = ["consumer", "smb", "enterprise"]
SAMPLES = 2000


def partition_day() -> str:
    """The day a run is about: its data interval, or, for a manual run without one, when it was triggered."""
    context = get_current_context()
    when = context.get("data_interval_start") or context["dag_run"].run_after
    return when.date().isoformat()


@dag(
    dag_id="ml_train_model",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=30), "execution_timeout": timedelta(minutes=10)},
    tags=["ml", "example"],
)
def ml_train_model() -> None:
    @task
    def train(segment: str) -> dict[str, Any]:
        """Least-squares fit of spend against tenure on a seeded sample: the same day, the same model."""
        day = partition_day()
        rng = random.Random(f"{day}/{segment}")
        xs = [rng.uniform(0, 48) for _ in range(SAMPLES)]
        ys = [12.5 + 3.2 * x + rng.gauss(0, 4) for x in xs]
        mean_x, mean_y = sum(xs) / SAMPLES, sum(ys) / SAMPLES
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mean_x) ** 2 for x in xs
        )
        intercept = mean_y - slope * mean_x
        rmse = (sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True)) / SAMPLES) ** 0.5
        return {
            "segment": segment,
            "day": day,
            "slope": round(slope, 6),
            "intercept": round(intercept, 6),
            "rmse": round(rmse, 6),
        }

    @task
    def publish(models: list[dict[str, Any]]) -> str:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket = Variable.get("data_bucket")
        key = f"{Variable.get('data_prefix')}models/spend/day={partition_day()}/model.json"
        body = json.dumps(sorted(models, key=lambda m: m["segment"]), sort_keys=True)
        S3Hook(aws_conn_id="aws_default").load_string(body, key=key, bucket_name=bucket, replace=True)
        return f"s3://{bucket}/{key}"

    publish(train.expand(segment=SEGMENTS))


ml_train_model()
