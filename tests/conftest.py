"""Shared fixtures: each real stack planned once per session, and stacks with config overrides."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from airstack.offline import ProgramRun, Resource, run_program
from airstack.stackfile import STACK_NAMES, StackFile, read_stack_file

STACKS = STACK_NAMES


def stack_values(stack: str) -> dict[str, Any]:
    """A stack file's config, decoded (objects as objects), to modify in a test."""
    return copy.deepcopy(read_stack_file(stack).decoded)


def stack_file_with(stack: str, values: dict[str, Any], secret_keys: frozenset[str] = frozenset()) -> StackFile:
    """The stack file of ``stack`` with its config replaced, encoded as the Pulumi CLI would hand it over."""
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    return replace(read_stack_file(stack), config=encoded, secret_keys=secret_keys)


_RUNS: dict[tuple[str, bool], ProgramRun] = {}


def planned(stack: str) -> ProgramRun:
    """The stack as after `pulumi up` (every output known), planned once per session."""
    if (stack, False) not in _RUNS:
        _RUNS[stack, False] = run_program(read_stack_file(stack))
    return _RUNS[stack, False]


def planned_preview(stack: str) -> ProgramRun:
    """The stack as the first `pulumi preview` of a new stack sees it (computed outputs unknown)."""
    if (stack, True) not in _RUNS:
        _RUNS[stack, True] = run_program(read_stack_file(stack), preview=True)
    return _RUNS[stack, True]


@pytest.fixture(params=STACKS)
def stack_run(request: pytest.FixtureRequest) -> ProgramRun:
    return planned(request.param)


@pytest.fixture
def run_with() -> Callable[[str, Callable[[dict[str, Any]], None]], ProgramRun]:
    """Run ``stack`` after ``change`` edited its decoded config in place."""

    def run(stack: str, change: Callable[[dict[str, Any]], None]) -> ProgramRun:
        values = stack_values(stack)
        change(values)
        return run_program(stack_file_with(stack, values))

    return run


def of_type(run: ProgramRun, typ: str) -> list[Resource]:
    return run.by_type(typ)


def containers(task_definition: Resource) -> list[dict[str, Any]]:
    return json.loads(task_definition.inputs["containerDefinitions"])


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["environment"]}


def sample_endpoints(config: Any) -> Any:
    """What the program hands the renderers, with short stand-ins (for tests of the pure rendering functions)."""
    from components.airflow_settings import Endpoints

    return Endpoints(
        "logs",
        {t.queue_name: f"https://sqs/{t.queue_name}" for t in config.teams},
        "http://x/",
        "p",
        "data",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    )
