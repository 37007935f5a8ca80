"""Run a real Pulumi Python program under mocks with a stack file's config and record every resource.

This is the program ``pulumi up`` runs, unchanged: its ``__main__.py`` is executed with ``runpy`` inside
Pulumi's own ``run_pulumi_func``, with the config the CLI would pass. Several stacks can run in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import runpy
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime import stack as runtime_stack

from airstack.mocks import AwsMocks, unwrap_secrets
from airstack.stackfile import PROJECT_ROOT, StackFile

SECRET_MASK = "[secret]"


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    """Inputs as the policy analyzer sees them: secrets unwrapped to their values."""
    outputs: dict[str, Any]
    protect: bool
    provider: str | None
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    secret_inputs: frozenset[str] = frozenset()
    """Top-level input names whose value is (or contains) a secret."""
    ignore_changes: tuple[str, ...] = ()

    def masked_inputs(self) -> dict[str, Any]:
        return {k: SECRET_MASK if k in self.secret_inputs else v for k, v in self.inputs.items()}


@dataclass
class ProgramRun:
    stack: str
    project: str
    resources: list[Resource]
    outputs: dict[str, Any]
    config: dict[str, str] = field(default_factory=dict)
    """The stack's config as the CLI hands it to the program (``aws:region``, ``airstack:*``): every value a string."""

    @property
    def region(self) -> str:
        return self.config.get("aws:region", "us-east-1")

    def by_type(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.type == typ]

    def get(self, urn: str) -> Resource:
        return next(r for r in self.resources if r.urn == urn)


class ProgramError(Exception):
    """The program failed; for a ``pulumi.RunError`` the message is the program's own, without traceback."""

    def __init__(self, message: str, resources_registered: int = 0) -> None:
        super().__init__(message)
        self.resources_registered = resources_registered
        """Resources the program had registered before it failed (besides its stack)."""


class _RecordingMonitor(runtime_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.requests: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        self.requests[response.urn] = {
            "inputs": rpc.deserialize_properties(request.object, keep_unknowns=True),
            "type": request.type,
            "name": request.name,
            "parent": request.parent or None,
            "custom": bool(request.custom),
            "protect": bool(request.protect),
            "provider": request.provider or None,
            "deps": {k: sorted(v.urns) for k, v in request.propertyDependencies.items()},
            "ignore_changes": list(request.ignoreChanges),
        }
        return response


def _project_name(program_dir: Path) -> str:
    import yaml

    document = yaml.safe_load((program_dir / "Pulumi.yaml").read_text()) or {}
    return str(document.get("name", program_dir.name))


@contextlib.contextmanager
def _program_context(program_dir: Path) -> Iterator[None]:
    """Run as the language host does: the program's folder is the working directory and on sys.path."""
    previous_cwd = os.getcwd()
    path = str(program_dir)
    sys.path.insert(0, path)
    os.chdir(program_dir)
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(path)


def run_program(stack_file: StackFile, program_dir: Path = PROJECT_ROOT, *, preview: bool = True) -> ProgramRun:
    """Run ``program_dir/__main__.py`` under mocks with ``stack_file``'s config; raise ProgramError on failure."""
    program_dir = program_dir.resolve()
    project = _project_name(program_dir)
    region = stack_file.config.get("aws:region", "us-east-1")
    mocks = AwsMocks(region)
    monitor = _RecordingMonitor(mocks)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    runtime_settings.ROOT.set(None)  # a fresh root Stack per run, so stacks don't leak into each other
    runtime_config.set_all_config(dict(stack_file.config), sorted(stack_file.secret_keys))
    runtime_mocks.set_mocks(mocks, project=project, stack=stack_file.stack, preview=preview, monitor=monitor)
    main = program_dir / "__main__.py"

    def program() -> None:
        runpy.run_path(str(main), run_name="__main__")

    try:
        with _program_context(program_dir):
            loop.run_until_complete(runtime_stack.run_pulumi_func(program))
            outputs = _stack_outputs(loop)
    except pulumi.RunError as error:
        raise ProgramError(str(error), _registered(monitor)) from None
    except Exception as error:
        raise ProgramError(f"{type(error).__name__}: {error}", _registered(monitor)) from error
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        runtime_config.set_all_config({}, [])

    resources = []
    for urn, request in monitor.requests.items():
        registration = monitor.resources.get(urn)
        inputs, secret_keys = {}, set()
        for key, value in request["inputs"].items():
            inputs[key], secret = unwrap_secrets(value)
            if secret:
                secret_keys.add(key)
        state, _ = unwrap_secrets(dict(registration.state)) if registration else ({}, False)
        if registration is not None and registration.id:
            state["id"] = registration.id  # the engine's outputs carry the id too
        resources.append(
            Resource(
                urn=urn,
                type=request["type"],
                name=request["name"],
                parent=request["parent"],
                custom=request["custom"],
                inputs=inputs,
                outputs=state,
                protect=request["protect"],
                provider=request["provider"],
                property_dependencies=request["deps"],
                secret_inputs=frozenset(secret_keys),
                ignore_changes=tuple(request["ignore_changes"]),
            )
        )
    return ProgramRun(
        stack=stack_file.stack, project=project, resources=resources, outputs=outputs, config=dict(stack_file.config)
    )


def _registered(monitor: _RecordingMonitor) -> int:
    return sum(1 for r in monitor.requests.values() if r["type"] != "pulumi:pulumi:Stack")


def _stack_outputs(loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    root = runtime_settings.get_root_resource()
    exported = getattr(root, "outputs", {}) or {}

    async def resolve() -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in exported.items():
            output = pulumi.Output.from_input(value)
            resolved = await output.future()
            result[key] = SECRET_MASK if await output.is_secret() else resolved
        return result

    return loop.run_until_complete(resolve())
