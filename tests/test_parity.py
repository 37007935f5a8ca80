"""`airstack parity`: what differs between the real stacks, grouped, with identical rows collapsed."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

import airstack.parity
from airstack.parity import ABSENT, Parity, parity
from airstack.stackfile import STACK_NAMES, read_stack_file
from tests.conftest import stack_file_with, stack_values


@pytest.fixture(scope="module")
def table() -> Parity:
    return parity([read_stack_file(s).load() for s in STACK_NAMES])


def row(table: Parity, key: str) -> dict[str, str]:
    return next(r.values for s in table.sections for r in s.rows if r.key == key)


def test_the_differences_that_matter_are_spelled_out(table: Parity) -> None:
    assert table.stacks == ["dev", "acc", "prod", "dr"]
    assert row(table, "awsRegion") == {
        "dev": "eu-west-1",
        "acc": "eu-west-1",
        "prod": "eu-west-1",
        "dr": "eu-central-1",
    }
    assert row(table, "network.natGateways") == {"dev": "1", "acc": "2", "prod": "3", "dr": "1"}
    assert row(table, "metastore.multiAz") == {"dev": "no", "acc": "yes", "prod": "yes", "dr": "yes"}
    assert row(table, "protected") == {"dev": "no", "acc": "no", "prod": "yes", "dr": "yes"}
    assert row(table, "schedule") == {
        "dev": "07:00-20:00 weekdays (Europe/Amsterdam)",
        "acc": "06:00-22:00 weekdays (Europe/Amsterdam)",
        "prod": "always on",
        "dr": "always on",
    }
    assert row(table, "schedule.hoursOnPerMonth")["dr"] == "0"  # the standby's services stay at zero
    assert row(table, "dr") == {
        "dev": "none",
        "acc": "none",
        "prod": "primary, backups to eu-central-1",
        "dr": "standby of prod (eu-west-1)",
    }
    assert row(table, "teams.ml.size")["prod"] == "4 vCPU, 16 GB, X86_64"
    assert row(table, "teams.reporting.workers")["dev"] == ABSENT  # dev has no reporting team


def test_sections_group_rows_and_identical_rows_are_marked(table: Parity) -> None:
    names = [s.name for s in table.sections]
    assert names[:3] == ["General", "Network", "Metastore"]
    assert "Other settings" not in names  # every config field has a curated row
    same = {r.key for s in table.sections for r in s.rows if r.same}
    assert {"tags", "broker.type", "metastore.engineVersion"} <= same
    assert "metastore.instanceClass" not in same
    assert table.differing + table.identical == sum(len(s.rows) for s in table.sections)


def test_a_field_without_a_curated_row_still_shows(table: Parity, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = tuple(r for r in airstack.parity._ROWS if r[1] != "logs.retentionDays")
    monkeypatch.setattr(airstack.parity, "_ROWS", rows)
    result = parity([read_stack_file(s).load() for s in STACK_NAMES])
    other = next(s for s in result.sections if s.name == "Other settings")
    assert [(r.key, r.values) for r in other.rows] == [
        ("logs.retentionDays", {"dev": "7", "acc": "14", "prod": "90", "dr": "90"})
    ]


def test_json_and_table_views(table: Parity) -> None:
    full, brief = table.as_dict(), table.as_dict(include_same=False)
    assert full["stacks"] == ["dev", "acc", "prod", "dr"]
    assert sum(len(s["rows"]) for s in brief["sections"]) == table.differing
    assert all(not r["same"] for s in brief["sections"] for r in s["rows"])
    json.dumps(full)
    console = Console(record=True, width=200)
    console.print(table.table())
    text = console.export_text()
    assert f"{table.differing} settings differ, {table.identical} identical" in text
    assert "identical: tags" in text
    assert "standby of prod (eu-west-1)" in text


def test_a_secret_webhook_is_shown_as_set_never_its_value() -> None:
    values = stack_values("dev")
    values["airstack:alerting"] = {"webhookUrl": "https://hooks.example.com/T0/B0/very-secret-token"}
    config = stack_file_with("dev", values, frozenset({"airstack:alerting"})).load()
    result = parity([config, read_stack_file("acc").load()])
    assert row(result, "alerting.webhookUrl") == {"dev": "set (secret)", "acc": ABSENT}
    assert "very-secret-token" not in json.dumps(result.as_dict())
