"""Secrets reach workloads by reference and are never written in the program: not in environment variables,
container commands or user data, and not as literal values of secrets, parameters and database passwords."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from airstack_policies._props import TASK_DEFINITION, as_list, containers, environment, is_unknown, peek
from airstack_policies._rules import resource_policy, stack_policy
from airstack_policies._stack_config import secret_values

_SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|FERNET|PRIVATE_KEY|API_KEY|APIKEY|ACCESS_KEY|CREDENTIAL|"
    r"SQL_ALCHEMY_CONN|RESULT_BACKEND|PWD)"
)
_NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD"})  # the shell's working directories
_PASS_WORDS = frozenset({"BYPASS", "COMPASS", "SURPASS", "OVERPASS", "UNDERPASS", "PASSTHROUGH", "PASSTHRU",
                         "PASSIVE", "PASSPORT", "PASSENGER", "PASSENGERS", "PASSES", "PASSED"})  # fmt: skip
_CREDENTIAL_URI = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
_CREDENTIAL_JSON = re.compile(r'"(password|aws_secret_access_key|secret|token)"\s*:\s*"[^"]+"', re.IGNORECASE)
_COMMAND_SECRET = re.compile(
    r"(--?(password|passwd|pass|pwd|secret|token|api[-_]?key|requirepass|auth)(=|\s+)(?![$\"'{<]|\s)\S+)"
    r"|(\b[A-Z][A-Z0-9_]*(PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_KEY)=(?![$\"'{<]|\s)\S+)",
    re.IGNORECASE,
)
"""``--password=x``, ``--requirepass x``, ``DB_PASSWORD=x``; a value from the environment (``$X``) is fine."""


def _last_segment(name: str) -> str:
    # AIRFLOW__SECRETS__BACKEND names a config section, not a secret; judge the option name.
    return name.rsplit("__", 1)[-1].upper()


def secret_name(name: str) -> bool:
    """Whether an environment name says it holds a secret (``DB_PASSWORD``, ``MYSQL_PWD``, ``DBPASS``)."""
    option = _last_segment(name)
    if name.upper() in _NOT_SECRET_NAMES:
        return False
    if _SECRET_NAME.search(option):
        return True
    return any("PASS" in part and part not in _PASS_WORDS for part in option.split("_"))


def credentials_in(text: str) -> bool:
    return bool(_CREDENTIAL_URI.search(text) or _CREDENTIAL_JSON.search(text))


def _command_text(container: Mapping[str, Any]) -> str:
    parts = [str(p) for key in ("entryPoint", "command") for p in as_list(container.get(key))]
    return " ".join(parts)


def _check_plaintext_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != TASK_DEFINITION:
        return
    for container in containers(args.props):
        label = f"container {container.get('name')} of {args.name}"
        for name, value in environment(container).items():
            if secret_name(name) and value:
                report(f"{label} passes {name} as plain environment, readable by anyone who can describe the "
                       "task definition", None)  # fmt: skip
            elif credentials_in(value):
                report(f"{label} has credentials inside {name}", None)
        command = _command_text(container)
        if _COMMAND_SECRET.search(command) or credentials_in(command):
            report(f"{label} has a password or token in its command line, visible in the task definition and in "
                   "every process listing", None)  # fmt: skip


ecs_no_plaintext_secrets = resource_policy(
    name="ecs-no-plaintext-secrets",
    description=(
        "Task definitions are readable by anyone with ecs:Describe* and end up in logs and diffs. Passwords, "
        "keys, tokens and connection strings (environment names like *PASSWORD*, *PASS, *PWD*, *SECRET*, "
        "*TOKEN*, or credentials inside a URL) reach containers as ECS secrets (valueFrom), never as "
        "environment values or command-line arguments."
    ),
    fix=(
        "Store the value in Secrets Manager or SSM Parameter Store and pass it in the container definition's "
        '`secrets` list ({"name": "DB_PASSWORD", "valueFrom": secret_arn}); in commands refer to the '
        "environment variable ($DB_PASSWORD) instead of the value."
    ),
    validate=_check_plaintext_secrets,
)

# ------------------------------------------------------------------------------- values written in the code

_SECRET_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:secretsmanager/secretVersion:SecretVersion": ("secretString", "secretBinary", "secretStringWo"),
    "aws:ssm/parameter:Parameter": ("value", "valueWo"),
    "aws:rds/instance:Instance": ("password", "passwordWo"),
    "aws:rds/cluster:Cluster": ("masterPassword", "masterPasswordWo"),
    "aws:docdb/cluster:Cluster": ("masterPassword",),
    "aws:redshift/cluster:Cluster": ("masterPassword",),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("authToken",),
}


def _leaves(value: str) -> list[str]:
    try:
        parsed = json.loads(value)
    except ValueError:
        return [value]
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            found.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(parsed)
    return [value, *found] if found else [value]


def _from_secret_config(value: str, secrets: list[str]) -> bool:
    return any(len(leaf) >= 4 and leaf in value for secret in secrets for leaf in _leaves(secret))


def _check_literal_secrets(args: StackValidationArgs, report: ReportViolation) -> None:
    secrets = secret_values()
    for resource in args.resources:
        keys = _SECRET_INPUTS.get(resource.resource_type)
        if not keys:
            continue
        if resource.resource_type == "aws:ssm/parameter:Parameter" and peek(resource.props, "type") != "SecureString":
            continue
        for key in keys:
            if resource.property_dependencies.get(key) or key in (resource.opts.ignore_changes or []):
                continue  # computed from another resource (a generated password), or set outside the program
            value = peek(resource.props, key)
            if value is None or value == "":
                continue
            if is_unknown(value):
                value = resource.props[key]  # raises: undecidable until the value is known
            if not isinstance(value, str) or _from_secret_config(value, secrets):
                continue
            report(f"{resource.name} sets {key} to a value written in the program or in plain config: it is in the "
                   "source, the stack file or the state history in clear", resource.urn)  # fmt: skip


secrets_not_in_code = stack_policy(
    name="secrets-not-in-code",
    description=(
        "A secret written in the program (or in plain stack config) is in the repository, in every clone and "
        "in the state history. Secret values, SecureString parameters and database or cache passwords come from "
        "a generator (random.RandomPassword), the service (manage_master_user_password) or an encrypted config "
        "value (pulumi config set --secret)."
    ),
    fix=(
        "Generate the value with random.RandomPassword, let RDS manage the master password "
        "(manage_master_user_password=True), or read it with pulumi.Config().require_secret(...) after "
        "`pulumi config set --secret`; a placeholder that is set outside Pulumi is marked with "
        "ignore_changes on the property."
    ),
    validate=_check_literal_secrets,
)

POLICIES = [ecs_no_plaintext_secrets, secrets_not_in_code]
