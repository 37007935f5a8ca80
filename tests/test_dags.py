"""The teams' DAGs in dags/<team>/: one directory per team of the stacks, DAGs that do nothing at parse time,
that the release pipeline accepts, and (with a real Airflow) that import cleanly."""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path

import pytest

from airstack.dag_release import build
from airstack.stackfile import read_stack_file
from components.config import Team
from tests.dag_rules import Finding, dotted, keyword_values, parse_time_findings

ROOT = Path(__file__).resolve().parent.parent
DAGS = ROOT / "dags"
PROBE = Path(__file__).resolve().parent / "dagbag_probe.py"
TEAMS = {t.name: t for t in (Team.model_validate(v) for v in read_stack_file("prod").decoded["airstack:teams"])}
DAG_FILES = sorted(p for p in DAGS.rglob("*.py") if "__pycache__" not in p.parts)


def team_of(path: Path) -> Team:
    return TEAMS[path.relative_to(DAGS).parts[0]]


def test_every_team_has_its_dags_directory_and_no_other() -> None:
    assert sorted(p.name for p in DAGS.iterdir() if p.is_dir()) == sorted(TEAMS)
    assert {team_of(p).name for p in DAG_FILES} == set(TEAMS)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: str(p.relative_to(DAGS)))
def test_a_dag_file_does_nothing_at_parse_time(path: Path) -> None:
    assert [str(f) for f in parse_time_findings(path.read_text())] == []


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: str(p.relative_to(DAGS)))
def test_dag_ids_carry_the_team_and_queues_are_the_team_s(path: Path) -> None:
    """DAG ids are global across bundles: the team prefix keeps one team from replacing another's DAG."""
    source = path.read_text()
    team = team_of(path)
    dag_ids = [v.value for v in keyword_values(source, "dag_id") if isinstance(v, ast.Constant)]

    assert dag_ids
    assert all(isinstance(d, str) and d.startswith(f"{team.name}_") for d in dag_ids)
    queues = [v.value if isinstance(v, ast.Constant) else ast.unparse(v) for v in keyword_values(source, "queue")]
    assert set(queues) <= {team.queue_name}


def test_some_task_defers_to_the_triggerer() -> None:
    """So that a smoke run of the examples exercises the triggerer too."""

    def defers(source: str) -> bool:
        flagged = any(getattr(v, "value", None) is True for v in keyword_values(source, "deferrable"))
        return flagged or any(
            isinstance(n, ast.Call) and dotted(n.func).endswith("Async") for n in ast.walk(ast.parse(source))
        )

    assert [p.name for p in DAG_FILES if defers(p.read_text())]


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_the_release_pipeline_accepts_each_team_directory(team: str) -> None:
    bundle = build(team, DAGS / team)

    assert any(f.endswith(".py") for f in bundle.files)


# ------------------------------------------------------------------------------------- the rule itself


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from airflow.sdk import Variable\nBUCKET = Variable.get('bucket')\n", "line 2: calls Variable.get()"),
        ("import airflow.sdk as sdk\nX = sdk.Variable.get('x')\n", "line 2: calls sdk.Variable.get()"),
        ("from airflow.sdk import Connection\nC = Connection.get('db')\n", "line 2: calls Connection.get()"),
        ("import pandas as pd\n", "line 1: imports pandas at parse time"),
        ("from sklearn.linear_model import Ridge\n", "line 1: imports sklearn.linear_model"),
        ("from airflow.providers.amazon.aws.hooks.s3 import S3Hook\n", "line 1: imports the hook module"),
        ("import time\ntime.sleep(5)\n", "line 2: calls time.sleep()"),
        ("TABLES = open('tables.txt').read().split()\n", "line 1: calls open()"),
        ("import requests\n", "line 1: imports requests"),
        (
            "from airflow.sdk import dag\n@dag(schedule=None)\ndef d():\n    from airflow.sdk import Variable\n"
            "    n = Variable.get('n')\nd()\n",
            "line 5: calls Variable.get()",
        ),
        (
            "from airflow.sdk import DAG\nwith DAG('d'):\n    hook = PostgresHook('db')\n",
            "line 3: creates PostgresHook at parse time",
        ),
        (
            "from airflow.sdk import Variable, dag\ndef tables():\n    return Variable.get('t')\n"
            "@dag(schedule=None)\ndef d():\n    for t in tables():\n        pass\nd()\n",
            "line 3: calls Variable.get()",
        ),
        (
            "from airflow.sdk import Variable, task_group\n@task_group\ndef g():\n    Variable.get('x')\n",
            "line 4: calls Variable.get()",
        ),
        ("import boto3\n", "line 1: imports boto3"),
        ("def f(x=open('f')):\n    pass\n", "line 1: calls open()"),
    ],
)
def test_the_rule_finds_parse_time_work(source: str, expected: str) -> None:
    findings = [str(f) for f in parse_time_findings(source)]

    assert any(f.startswith(expected) for f in findings), findings


@pytest.mark.parametrize(
    "source",
    [
        "from airflow.sdk import Variable, task\n@task\ndef t():\n    import pandas\n    return Variable.get('x')\n",
        "from airflow.sdk import task\n@task.virtualenv(requirements=['numpy'])\ndef t():\n    import numpy\n",
        "def helper():\n    return open('x').read()\n",  # never called at parse time
        "from airflow.sdk import BaseOperator\nclass Op(BaseOperator):\n    def execute(self, context):\n"
        "        from airflow.providers.http.hooks.http import HttpHook\n        HttpHook().run()\n",
        "from datetime import timedelta\nTIMEOUT = timedelta(minutes=5)\n",
        "from airflow.providers.standard.sensors.time_delta import WaitSensor\n",
        "X = {'bucket': '{{ var.value.data_bucket }}'}\n",  # templates render when the task runs
    ],
)
def test_the_rule_leaves_task_time_work_alone(source: str) -> None:
    assert parse_time_findings(source) == []


def test_findings_read_as_instructions() -> None:
    assert str(Finding(3, "calls open() at parse time; do it inside a task")) == (
        "line 3: calls open() at parse time; do it inside a task"
    )


# ------------------------------------------------------------------------------------ a real Airflow


AIRFLOW_PYTHON = os.environ.get("AIRSTACK_AIRFLOW_PYTHON")


@pytest.mark.skipif(not AIRFLOW_PYTHON, reason="AIRSTACK_AIRFLOW_PYTHON (the pinned Airflow venv) is not set")
def test_the_dags_import_in_the_pinned_airflow(tmp_path: Path) -> None:
    assert AIRFLOW_PYTHON is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {
        "AIRFLOW_HOME": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [AIRFLOW_PYTHON, str(PROBE), *(str(DAGS / t) for t in sorted(TEAMS))],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    results = {Path(r["dir"]).name: r for r in map(json.loads, _json_lines(done.stdout))}

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert {team: r["errors"] for team, r in results.items()} == {team: {} for team in TEAMS}
    assert {team: sorted(r["dags"]) for team, r in results.items()} == {
        "analytics": ["analytics_events_daily"],
        "ml": ["ml_train_model"],
        "reporting": ["reporting_daily_summary"],
    }
    assert results["reporting"]["dags"]["reporting_daily_summary"]["grace_period_for_late_data"]["defers"]


def _json_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("{")]
