"""A stack file that would fail at `up`, or is unsafe, gets exit 2 naming the key, the value and the limit.

Each row writes a real stack file with one mistake and runs `airstack validate` on it, as a user would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from airstack.cli import main
from airstack.stackfile import read_stack_file
from tests.conftest import stack_values

Values = dict[str, Any]


def validate(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str]:
    code = main(["validate", str(path)])
    captured = capsys.readouterr()
    return code, captured.err


def write_values(directory: Path, stack: str, values: Values) -> Path:
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": values}, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def team(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "longestTask": "1h", **extra}


def section(key: str, **changes: Any) -> Callable[[Values], None]:
    def change(values: Values) -> None:
        values.setdefault(f"airstack:{key}", {}).update(changes)

    return change


def setting(key: str, value: Any) -> Callable[[Values], None]:
    def change(values: Values) -> None:
        values[key] = value

    return change


def drop(key: str, *fields: str) -> Callable[[Values], None]:
    def change(values: Values) -> None:
        for field in fields:
            values[f"airstack:{key}"].pop(field, None)

    return change


def teams(*items: dict[str, Any]) -> Callable[[Values], None]:
    return setting("airstack:teams", list(items))


def both(*changes: Callable[[Values], None]) -> Callable[[Values], None]:
    def change(values: Values) -> None:
        for c in changes:
            c(values)

    return change


@dataclass(frozen=True)
class Bad:
    rule: str
    change: Callable[[Values], None]
    key: str
    says: str
    stack: str = "dev"
    base: str = ""
    """The real stack file the row starts from (its own stack name when empty)."""


LONG_STACK = "analytics-platform-sandbox-x"  # 28 characters: 2 too many for a bucket name in eu-west-1
ACM = "arn:aws:acm:{region}:111122223333:certificate/0b6c1f1e-de70-4c1a-9d1e-5a8f2e7c9a01"
CIDRS = [f"198.51.100.{i}/32" for i in range(31)]
MANY_TAGS = {f"Tag{i:02d}": "x" for i in range(38)}

ROWS = [
    # ---------------------------------------------------------------- names AWS derives from the config
    Bad(
        "bucket name",
        lambda v: None,
        "stack name",
        "S3 bucket airstack-analytics-platform-sandbox-x-logs-",
        stack=LONG_STACK,
        base="dev",
    ),
    Bad(
        "bucket name",
        lambda v: None,
        "stack name",
        "use a stack name of at most 26 characters",
        stack=LONG_STACK,
        base="dev",
    ),
    Bad(
        "SQS queue name",
        teams(team("ml", queue="q" * 32)),
        "airstack:teams[0].queue",
        "SQS dead-letter queue",
        stack="x" * 40,
        base="dev",
    ),
    Bad(
        "stack name characters",
        lambda v: None,
        "stack name",
        "lowercase letters, digits and single hyphens",
        stack="Data_Platform",
        base="dev",
    ),
    Bad(
        "stack name characters",
        lambda v: None,
        "stack name",
        "rename it with `pulumi stack rename`",
        stack="dev--eu",
        base="dev",
    ),
    # ------------------------------------------------------------------------------------ team count
    Bad(
        "team count",
        teams(*(team(f"team{i:03d}-" + "x" * 23) for i in range(120))),
        "airstack:teams",
        "task definitions would be",
    ),
    Bad(
        "team count",
        teams(*(team(f"team{i:03d}-" + "x" * 23) for i in range(120))),
        "airstack:teams",
        "over IAM's limit per role (10,240)",
    ),
    Bad(
        "team count hard bound",
        teams(*(team(f"t{i:03d}") for i in range(201))),
        "airstack:teams",
        "must have at most 200 items",
    ),
    # -------------------------------------------------------------------------------------- regions
    Bad("region", setting("aws:region", "eu-west-9"), "aws:region", "not an AWS region; use one of af-south-1"),
    Bad("region", setting("aws:region", "EU-WEST-1"), "aws:region", "not an AWS region"),
    Bad("partition", setting("aws:region", "cn-north-1"), "aws:region", "in the aws-cn partition"),
    Bad("partition", setting("aws:region", "us-gov-west-1"), "aws:region", "in the aws-us-gov partition"),
    Bad(
        "replica region",
        section("dr", replicaRegion="eu-west-1"),
        "airstack:dr.replicaRegion",
        "the stack's own region",
        stack="prod",
    ),
    Bad(
        "replica region",
        section("dr", replicaRegion="mars-north-1"),
        "airstack:dr.replicaRegion",
        "not an AWS region",
        stack="prod",
    ),
    Bad(
        "replica partition",
        section("dr", replicaRegion="us-gov-east-1"),
        "airstack:dr.replicaRegion",
        "aws-us-gov partition",
        stack="prod",
    ),
    Bad(
        "standby region",
        section("dr", primaryRegion="eu-central-1"),
        "airstack:dr.primaryRegion",
        "the stack's own region",
        stack="dr",
    ),
    Bad(
        "standby of itself", section("dr", primaryStack="dr"), "airstack:dr.primaryStack", "not from itself", stack="dr"
    ),
    Bad(
        "zones",
        both(setting("aws:region", "us-west-1"), section("network", azCount=3)),
        "airstack:network.azCount",
        "us-west-1 offers 2 Availability Zones",
        stack="prod",
    ),
    # ------------------------------------------------------------------------------------- ingress
    Bad(
        "certificate region",
        section("ingress", certificateArn=ACM.format(region="us-east-1")),
        "airstack:ingress.certificateArn",
        "a load balancer only uses certificates of its own region (eu-west-1)",
    ),
    Bad(
        "certificate partition",
        section("ingress", certificateArn=ACM.format(region="eu-west-1").replace("arn:aws:", "arn:aws-cn:")),
        "airstack:ingress.certificateArn",
        "ARNs of eu-west-1 start with arn:aws:",
    ),
    Bad(
        "certificate account",
        section("ingress", certificateArn=ACM.format(region="eu-west-1").replace("111122223333", "1111")),
        "airstack:ingress.certificateArn",
        "the account '1111' is not 12 digits",
    ),
    Bad(
        "certificate id",
        section("ingress", certificateArn="arn:aws:acm:eu-west-1:111122223333:certificate/x"),
        "airstack:ingress.certificateArn",
        "is not an ACM id",
    ),
    Bad(
        "certificate ARN",
        section("ingress", certificateArn="arn:aws:iam::111122223333:server-certificate/x"),
        "airstack:ingress.certificateArn",
        "not an ACM certificate ARN",
    ),
    Bad("no certificate", drop("ingress", "certificateArn"), "airstack:ingress", "HTTPS needs a certificate"),
    Bad(
        "zone without domain",
        both(drop("ingress", "certificateArn", "domain"), section("ingress", hostedZoneId="Z0123456789ABCDEFGHIJ")),
        "airstack:ingress",
        "needs the domain",
    ),
    Bad(
        "zone id",
        both(drop("ingress", "certificateArn"), section("ingress", hostedZoneId="/hostedzone/Z1")),
        "airstack:ingress.hostedZoneId",
        "not a Route 53 hosted zone id",
    ),
    Bad(
        "zone and certificate", section("ingress", hostedZoneId="Z0123456789ABCDEFGHIJ"), "airstack:ingress", "not both"
    ),
    Bad(
        "ACM domain length",
        both(
            drop("ingress", "certificateArn"),
            section("ingress", hostedZoneId="Z0123456789ABCDEFGHIJ", domain="a" * 60 + ".example.com"),
        ),
        "airstack:ingress",
        "at most 64 characters",
    ),
    Bad("domain", section("ingress", domain="Airflow.Example.com"), "airstack:ingress.domain", "not a DNS name"),
    Bad(
        "allowed CIDRs count",
        section("ingress", allowedCidrs=CIDRS),
        "airstack:ingress.allowedCidrs",
        "31 CIDRs; each takes two rules",
    ),
    Bad(
        "allowed CIDRs duplicate",
        section("ingress", allowedCidrs=["10.0.0.0/8", "10.0.0.0/8"]),
        "airstack:ingress.allowedCidrs",
        "10.0.0.0/8 listed more than once",
    ),
    # ------------------------------------------------------------------------------------ metastore
    Bad(
        "minor version",
        section("metastore", engineVersion="16.6"),
        "airstack:metastore.engineVersion",
        'write "16", or set autoMinorVersionUpgrade: false',
    ),
    Bad(
        "version as a number",
        section("metastore", engineVersion=16.1),
        "airstack:metastore.engineVersion",
        "YAML read 16.1 as a number: put it in quotes",
    ),
    Bad(
        "version",
        section("metastore", engineVersion="13"),
        "airstack:metastore.engineVersion",
        'one of "14", "15", "16", "17"',
    ),
    Bad(
        "instance class size",
        section("metastore", instanceClass="db.t4g.huge"),
        "airstack:metastore.instanceClass",
        "db.t4g comes in micro, small, medium, large, xlarge, 2xlarge",
    ),
    Bad(
        "instance class",
        section("metastore", instanceClass="db.t2.micro"),
        "airstack:metastore.instanceClass",
        "not an RDS for PostgreSQL instance class",
    ),
    Bad(
        "autoscaling headroom",
        section("metastore", allocatedStorageGb=100, maxAllocatedStorageGb=105),
        "airstack:metastore.maxAllocatedStorageGb",
        "at least 10% above allocatedStorageGb 100, so at least 110",
    ),
    Bad(
        "gp3 storage",
        section("metastore", allocatedStorageGb=70_000),
        "airstack:metastore.allocatedStorageGb",
        "must be at most 65536",
    ),
    Bad(
        "gp3 storage",
        section("metastore", allocatedStorageGb=10),
        "airstack:metastore.allocatedStorageGb",
        "must be at least 20",
    ),
    # -------------------------------------------------------------------------------------- network
    Bad("reserved CIDR", section("network", cidr="127.0.0.0/16"), "airstack:network.cidr", "loopback"),
    Bad("reserved CIDR", section("network", cidr="169.254.0.0/16"), "airstack:network.cidr", "link-local"),
    Bad("reserved CIDR", section("network", cidr="224.0.0.0/16"), "airstack:network.cidr", "multicast"),
    Bad("reserved CIDR", section("network", cidr="0.0.0.0/16"), "airstack:network.cidr", "'this network'"),
    Bad(
        "interface endpoints",
        section("network", interfaceEndpoints=["logs", "sqs", "logs"]),
        "airstack:network.interfaceEndpoints",
        "logs listed more than once",
    ),
    # -------------------------------------------------------------------------------- teams, images
    Bad(
        "queue collision", teams(team("xx"), team("yy", queue="xx-dlq")), "airstack:teams", "queues xx and xx-dlq clash"
    ),
    Bad(
        "image with tag",
        section("image", repository="111122223333.dkr.ecr.eu-west-1.amazonaws.com/airflow:3.1"),
        "airstack:image.repository",
        "put the tag in image.tag",
    ),
    Bad(
        "image name",
        section("image", repository="111122223333.dkr.ecr.eu-west-1.amazonaws.com/Airflow"),
        "airstack:image.repository",
        "not an image repository",
    ),
    Bad("image tag", section("image", tag="-rc1"), "airstack:image.tag", "must match"),
    Bad(
        "image length",
        section("image", repository="registry.example.com/" + "a/" * 120 + "b"),
        "airstack:image.tag",
        "at most 255 characters",
    ),
    # ----------------------------------------------------------------------------------- schedule
    Bad(
        "time zone",
        section("schedule", timezone="Mars/Olympus_Mons"),
        "airstack:schedule.timezone",
        "not an IANA time zone",
    ),
    Bad(
        "start equals stop",
        section("schedule", startAt="08:00", stopAt="08:00"),
        "airstack:schedule.startAt",
        "startAt equals stopAt",
    ),
    # ---------------------------------------------------------------------------------------- tags
    Bad("tag prefix", section("tags", **{"aws:team": "x"}), "airstack:tags", "the aws: prefix is reserved"),
    Bad("tag key length", section("tags", **{"k" * 129: "x"}), "airstack:tags", "at most 128 characters"),
    Bad("tag value length", section("tags", Owner="o" * 257), "airstack:tags", "at most 256 characters"),
    Bad("tag characters", section("tags", **{"Team!": "x"}), "airstack:tags", "(not '!')"),
    Bad("tag count", section("tags", **MANY_TAGS), "airstack:tags", "make 51; AWS allows 50 per resource"),
    Bad(
        "tag set by airstack",
        section("tags", Environment="production"),
        "airstack:tags",
        "Environment: airstack sets this tag itself",
    ),
    Bad("tag case", section("tags", owner="someone"), "airstack:tags", "IAM does not tell tag keys apart by case"),
    Bad(
        "default tags",
        setting("aws:defaultTags", {"tags": {"costcenter": "x"}}),
        "airstack:tags",
        "CostCenter and costcenter: IAM does not tell tag keys apart by case",
    ),
    Bad(
        "default tags",
        setting("aws:defaultTags", {"tags": {"aws:x": "y"}}),
        "aws:defaultTags.tags",
        "the aws: prefix is reserved",
    ),
    Bad(
        "default tags count",
        both(
            setting("aws:defaultTags", {"tags": {f"D{i}": "y" for i in range(20)}}),
            section("tags", **{f"T{i}": "y" for i in range(18)}),
        ),
        "airstack:tags",
        "and 20 in aws:defaultTags",
    ),
    # ----------------------------------------------------------------------------- environments
    Bad(
        "prod declares prod",
        setting("airstack:environment", "dev"),
        "airstack:environment",
        "the prod stack declares environment prod",
        stack="prod",
    ),
    Bad(
        "dr declares dr",
        setting("airstack:environment", "prod"),
        "airstack:environment",
        "the dr stack declares environment dr",
        stack="dr",
    ),
    Bad(
        "prod-like name",
        lambda v: None,
        "airstack:environment",
        "declare environment prod or dr",
        stack="prod-eu",
        base="dev",
    ),
    Bad(
        "alert subscriber",
        section("alerting", emails=[]),
        "airstack:alerting",
        "a prod stack alerts someone",
        stack="prod",
    ),
    Bad("alert address", section("alerting", emails=["oncall"]), "airstack:alerting.emails", "not an email address"),
    Bad(
        "alert duplicate",
        section("alerting", emails=["a@example.com", "A@example.com"]),
        "airstack:alerting.emails",
        "listed more than once",
    ),
    Bad(
        "HA scheduler",
        lambda v: v["airstack:components"]["scheduler"].update(count=1),
        "airstack:components.scheduler",
        "a prod stack runs at least 2 of these (count 1)",
        stack="prod",
    ),
    Bad(
        "HA api-server",
        lambda v: v["airstack:components"]["apiServer"].update(count=1),
        "airstack:components.apiServer",
        "a prod stack runs at least 2 of these (count 1)",
        stack="prod",
    ),
    Bad(
        "a scheduler",
        lambda v: v["airstack:components"]["scheduler"].update(count=0),
        "airstack:components.scheduler",
        "every stack runs at least 1 of these (count 0)",
    ),
    Bad(
        "steady state",
        section("deployment", waitForSteadyState="yes"),
        "airstack:deployment.waitForSteadyState",
        'must be true or false, written without quotes, not the text "yes"',
    ),
    # ------------------------------------------------------------------------- strict numbers
    Bad(
        "margin as text",
        section("broker", visibilityMarginPercent="25"),
        "airstack:broker.visibilityMarginPercent",
        'must be a whole number written without quotes, not the text "25"',
    ),
    Bad(
        "count as text",
        lambda v: v["airstack:components"]["worker"].update(cpu="512"),
        "airstack:components.worker.cpu",
        "without quotes",
    ),
    Bad("fraction", section("network", azCount=2.5), "airstack:network.azCount", "must be a whole number"),
    Bad(
        "boolean as text",
        section("metastore", multiAz="true"),
        "airstack:metastore.multiAz",
        "must be true or false",
        stack="prod",
    ),
    # ----------------------------------------------------------------------------- namespaces
    Bad(
        "unknown namespace",
        setting("airstak:logs", {"retentionDays": 7}),
        "airstak:logs",
        "unknown namespace 'airstak'; did you mean airstack:logs?",
    ),
    Bad(
        "unknown provider key",
        setting("aws:regoin", "eu-west-1"),
        "aws:regoin",
        "not a setting of the aws provider; did you mean aws:region?",
    ),
    Bad(
        "unknown key",
        section("logs", retention=7),
        "airstack:logs.retention",
        "unknown key (did you mean retentionDays?)",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[f"{i:02d}-{r.rule}" for i, r in enumerate(ROWS)])
def test_a_bad_stack_file_names_the_key_and_the_limit(
    row: Bad, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = stack_values(row.base or row.stack)
    row.change(values)
    code, err = validate(capsys, write_values(tmp_path, row.stack, values))
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith(f"  - {row.key} = ")]
    assert any(row.says in line for line in lines), err


RAW_ROWS = [
    # (rule, the stack file text after a replacement, key, what it says)
    (
        "duplicate key",
        ("    retentionDays: 7\n", "    retentionDays: 7\n    retentionDays: 14\n"),
        "file",
        'mapping key "retentionDays" already defined',
    ),
    (
        "YAML 1.1 boolean",
        ("    multiAz: false\n", "    multiAz: no\n"),
        "airstack:metastore.multiAz",
        'must be true or false, written without quotes, not the text "no"',
    ),
    (
        "plain webhook beside a secure value",
        (
            "    emails: [data-platform-dev@example.com]\n",
            "    emails:\n      - secure: v1:abc==\n    webhookUrl: https://hooks.example.com/T0/B0/token\n",
        ),
        "airstack:alerting.emails[0]",
        "must be plain text, not a `secure:` value",
    ),
    (
        "plain webhook beside a secure value",
        (
            "    emails: [data-platform-dev@example.com]\n",
            "    emails:\n      - secure: v1:abc==\n    webhookUrl: https://hooks.example.com/T0/B0/token\n",
        ),
        "airstack:alerting.webhookUrl",
        "a secret must not be stored in plain text",
    ),
    (
        "secure tag",
        ("    Owner: data-platform\n", "    Owner:\n      secure: v1:abc==\n"),
        "airstack:tags.Owner",
        "must be plain text, not a `secure:` value",
    ),
    (
        "secure name",
        ("  airstack:environment: dev\n", "  airstack:environment:\n    secure: v1:abc==\n"),
        "airstack:environment",
        "must be plain text",
    ),
    (
        "alias bomb",
        (
            "config:\n",
            "x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
            + "".join(f"x{i}: &a{i} [{', '.join([f'*a{i - 1}' if i > 1 else '*a'] * 10)}]\n" for i in range(1, 8))
            + "config:\n",
        ),
        "file",
        "the file expands to more than 100,000 values",
    ),
]


@pytest.mark.parametrize(("rule", "edit", "key", "says"), RAW_ROWS, ids=[r[0] for r in RAW_ROWS])
def test_a_bad_stack_file_as_written(
    rule: str, edit: tuple[str, str], key: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = read_stack_file("dev").path.read_text()
    assert edit[0] in text, rule
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(text.replace(edit[0], edit[1], 1))
    code, err = validate(capsys, path)
    assert code == 2, err
    assert any(line.startswith(f"  - {key} = ") and says in line for line in err.splitlines()), err


def test_the_secret_itself_is_never_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = stack_values("dev")
    values["airstack:alerting"]["webhookUrl"] = "https://hooks.example.com/T0/B0/very-secret-token"
    code, err = validate(capsys, write_values(tmp_path, "dev", values))
    assert code == 2
    assert "very-secret-token" not in err


GOOD = [
    ("provider settings", setting("aws:defaultTags", {"tags": {"Department": "data"}})),
    ("provider profile", setting("aws:profile", "data-platform")),
    ("a pinned minor, not upgraded", section("metastore", engineVersion="16.6", autoMinorVersionUpgrade=False)),
    (
        "a certificate requested by airstack",
        both(drop("ingress", "certificateArn"), section("ingress", hostedZoneId="Z0123456789ABCDEFGHIJ")),
    ),
    ("31-character team", teams(team("t" * 31))),
    ("an image from Docker Hub", section("image", repository="apache/airflow")),
    ("a team queue next to another's", teams(team("xx"), team("yy", queue="xx-dl"))),
    ("unicode tags", section("tags", Équipe="données analytiques")),
    ("no steady-state wait", section("deployment", waitForSteadyState=False)),
]


@pytest.mark.parametrize(("case", "change"), GOOD, ids=[g[0] for g in GOOD])
def test_what_aws_accepts_is_accepted(
    case: str, change: Callable[[Values], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = stack_values("dev")
    change(values)
    code, err = validate(capsys, write_values(tmp_path, "dev", values))
    assert code == 0, err
