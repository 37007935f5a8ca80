"""Run a real Pulumi Python program under mocks with a stack file's config and record what the engine would.

This is the program ``pulumi up`` runs, unchanged: its main file is executed with ``runpy`` inside Pulumi's own
``run_pulumi_func``, with the config the CLI would pass. The monitor records every registration as the engine
receives it (the property struct in wire form, options, dependencies), answers as a provider would — or, with
``preview=True``, as a first ``pulumi preview`` of a new stack does: nothing exists yet, so IDs, ARNs and other
computed outputs are unknown — and adds the default providers the engine would create. A second registration
of one URN is an error, as in the engine, and a program that does not finish in time is stopped with where it
waited.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import runpy
import signal
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import FrameType
from typing import Any

import pulumi
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime import stack as runtime_stack
from pulumi.runtime.proto import resource_pb2

from airstack import wire
from airstack.lookups import Lookups, at, recording_call_sites, unanswered_message
from airstack.mock_resources import checked_inputs
from airstack.mocks import AwsMocks
from airstack.program_errors import describe, recording_error_sites, source_position
from airstack.project import ProjectFile, read_project
from airstack.stackfile import PROJECT_ROOT, StackFile

SECRET_MASK = wire.SECRET_MASK
_RUNNER_DIR = str(Path(__file__).parent)
DEFAULT_TIMEOUT_SECONDS = 120.0
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class Resource:
    """One registered resource, as the engine holds it after the run."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    wire_inputs: dict[str, Any]
    """The registered properties in wire form (secrets wrapped, unknowns as the sentinel)."""
    wire_outputs: dict[str, Any] = field(default_factory=dict)
    """Custom resources: the provider's state (with ``id``); components: their registered outputs."""
    protect: bool = False
    provider: str | None = None
    """Provider reference ``<provider urn>::<provider id>`` (explicit, or the default provider's)."""
    remote: bool = False
    """A component whose children its provider creates (awsx): only the real engine expands it."""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    ignore_changes: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()
    delete_before_replace: bool | None = None
    retain_on_delete: bool = False
    aliases: tuple[str, ...] = ()
    id: str | None = None
    source: str | None = None
    """Where the program registered it (``file:line``), as the SDK reports it."""

    @cached_property
    def inputs(self) -> dict[str, Any]:
        """Inputs as a provider receives them: secrets unwrapped, references as IDs, unknowns as the sentinel."""
        return wire.plain_numbers(wire.provider_view(self.wire_inputs))

    @cached_property
    def outputs(self) -> dict[str, Any]:
        return wire.plain_numbers(wire.provider_view(self.wire_outputs))

    @property
    def secret_inputs(self) -> frozenset[str]:
        """Top-level input names whose value is, or contains, a secret."""
        return frozenset(k for k, v in self.wire_inputs.items() if wire.contains_secret(v))

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")

    def masked_inputs(self) -> dict[str, Any]:
        return wire.display_view(self.wire_inputs)

    def __hash__(self) -> int:
        return hash(self.urn)


@dataclass
class ProgramRun:
    stack: str
    project: str
    resources: list[Resource]
    outputs: dict[str, Any]
    """The stack's exports as values (secrets masked; unknowns ``None``)."""
    config: dict[str, str] = field(default_factory=dict)
    """The stack's config as the CLI hands it to the program (``aws:region``, ``airstack:*``): every value a string."""
    preview: bool = False
    """Planned as a first preview of a new stack: computed outputs are unknown."""
    wire_outputs: dict[str, Any] = field(default_factory=dict)
    """The stack's exports in wire form."""

    @property
    def region(self) -> str:
        return self.config.get("aws:region", "us-east-1")

    def by_type(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.type == typ]

    def get(self, urn: str) -> Resource:
        return next(r for r in self.resources if r.urn == urn)

    @property
    def stack_urn(self) -> str:
        return next(r.urn for r in self.resources if r.type == STACK_TYPE)


class ProgramError(Exception):
    """The program failed; for a ``pulumi.RunError`` the message is the program's own, without traceback."""

    def __init__(self, message: str, resources_registered: int = 0, kind: str = "program") -> None:
        super().__init__(message)
        self.resources_registered = resources_registered
        """Resources the program had registered before it failed (besides its stack)."""
        self.kind = kind
        """``program``, or ``lookup`` when it made lookups that nothing answered."""

    def __reduce__(self) -> tuple[type[ProgramError], tuple[str, int, str]]:
        return (type(self), (str(self), self.resources_registered, self.kind))


class DuplicateUrnError(Exception):
    """The engine refuses a second resource with the same URN; so does the offline monitor."""


# ------------------------------------------------------------------------------------------------- monitor


def _struct_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct)


def _to_struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


class _RecordingMonitor(runtime_mocks.MockMonitor):
    """The engine's side of the resource monitor: record registrations, answer through the mocks."""

    def __init__(self, mocks: AwsMocks, stack: str, project: str, config: dict[str, str], preview: bool) -> None:
        super().__init__(mocks)
        self.aws = mocks
        self.stack = stack
        self.project = project
        self.config = config
        self.preview = preview
        self.records: dict[str, Resource] = {}
        self._lock = threading.Lock()

    def _urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN: the parent's type is prefixed, except the root stack's (mocks prefix it too)."""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != STACK_TYPE:
                type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    # The engine registers a default provider per package (and version) for resources that name none.
    def _default_provider(self, type_: str, version: str, download_url: str) -> str:
        package = type_.split(":", 1)[0]
        name = "default"
        if version:
            name += "_" + version.replace(".", "_").replace("-", "_").replace("+", "_")
        if download_url:
            name += "_" + "".join(c if c.isalnum() else "_" for c in download_url)
        urn = f"urn:pulumi:{self.stack}::{self.project}::pulumi:providers:{package}::{name}"
        with self._lock:
            if urn not in self.records:
                prefix = f"{package}:"
                inputs: dict[str, Any] = {
                    k[len(prefix) :]: wire_config(v) for k, v in sorted(self.config.items()) if k.startswith(prefix)
                }
                if version:
                    inputs["version"] = version
                provider_id = "04da6b54-80e4-46f7-96ec-b56ff0331ba9" if self.preview else f"{package}-default-id"
                self.records[urn] = Resource(
                    urn=urn,
                    type=f"pulumi:providers:{package}",
                    name=name,
                    parent=None,
                    custom=True,
                    wire_inputs=inputs,
                    wire_outputs={**inputs, "id": provider_id},
                    id=provider_id,
                )
            return f"{urn}::{self.records[urn].id}"

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        urn = self._urn(request.parent, request.type, request.name)
        inputs = _struct_dict(request.object)
        if request.custom:
            inputs = checked_inputs(request.type, request.name, inputs)
        source = source_position(request.sourcePosition)
        with self._lock:
            if urn in self.records:
                first = self.records[urn].source
                raise DuplicateUrnError(
                    f"Duplicate resource URN '{urn}'; try giving it a unique name (a resource of type "
                    f"{request.type} named {request.name!r} is registered twice under the same parent"
                    + (f": at {first} and at {source}" if first and source else "")
                    + ")"
                )
            # Reserve the URN before answering, so that two concurrent registrations cannot both pass.
            self.records[urn] = Resource(urn=urn, type=request.type, name=request.name, parent=None, custom=False,
                                         wire_inputs={})  # fmt: skip
        custom = bool(request.custom)
        remote = bool(request.remote)
        provider = request.provider or None
        if custom and provider is None and not request.type.startswith("pulumi:providers:"):
            provider = self._default_provider(request.type, request.version, request.pluginDownloadURL)
        record = Resource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=custom,
            wire_inputs=inputs,
            protect=bool(request.protect),
            provider=provider,
            remote=remote,
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items() if v.urns},
            ignore_changes=tuple(request.ignoreChanges),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            delete_before_replace=request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None,
            retain_on_delete=bool(request.retainOnDelete),
            aliases=tuple(request.aliasURNs),
            source=source,
        )
        if request.type == STACK_TYPE:
            with self._lock:
                self.records[urn] = record
            return resource_pb2.RegisterResourceResponse(urn=urn)

        provider_inputs = wire.provider_view(inputs)
        args = runtime_mocks.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=provider_inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=custom or remote,
            transforms=[],
        )
        resource_id, state = self.aws.answer(args, preview=self.preview)
        if custom:
            record.id = resource_id if resource_id is not None else wire.UNKNOWN
            record.wire_outputs = {**state, "id": record.id}
        elif remote:
            record.wire_outputs = dict(state)
        with self._lock:
            self.records[urn] = record
        response = resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id or "")
        if custom or remote:
            response.object.CopyFrom(_to_struct(state))
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        outputs = _struct_dict(request.outputs)
        with self._lock:
            record = self.records.get(request.urn)
            if record is not None and not record.custom and not record.remote:
                record.wire_outputs = outputs
        return empty_pb2.Empty()

    def Invoke(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        args = wire.provider_view(_struct_dict(request.args))
        if request.tok == "pulumi:pulumi:getResource":
            record = self.records.get(args.get("urn", ""))
            if record is None:
                raise ValueError(f"unknown resource {args.get('urn')}")
            return _invoke_response({"urn": record.urn, "id": record.id or "", "state": record.wire_outputs})
        call = runtime_mocks.MockCallArgs(token=request.tok, args=args, provider=request.provider)
        result, _failures = self.aws.call(call)
        return _invoke_response(wire_ready(result))

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        urn = self._urn(request.parent, request.type, request.name)
        props = wire.provider_view(_struct_dict(request.properties))
        args = runtime_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=props, provider=request.provider, resource_id=request.id
        )
        with at(source_position(request.sourcePosition)):  # a StackReference is a lookup: say where it was made
            resource_id, state = self.aws.answer(args, preview=False)
        with self._lock:
            self.records[urn] = Resource(
                urn=urn, type=request.type, name=request.name, parent=request.parent or None, custom=True,
                wire_inputs=props, wire_outputs={**state, "id": request.id}, id=request.id or resource_id,
            )  # fmt: skip
        response = resource_pb2.ReadResourceResponse(urn=urn)
        response.properties.CopyFrom(_to_struct(state))
        return response


def _invoke_response(values: dict[str, Any]) -> Any:
    response = resource_pb2.ResourceInvokeResponse()
    getattr(response, "return").CopyFrom(_to_struct(values))  # `return` is a Python keyword
    return response


def wire_config(value: str) -> Any:
    """A provider's config value as its CheckConfig would hold it: JSON objects and lists decoded."""
    import json

    if value[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def wire_ready(value: Any) -> Any:
    """Plain Python values that a protobuf Struct accepts (tuples as lists, None kept)."""
    if isinstance(value, dict):
        return {str(k): wire_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire_ready(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------------- running


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


class _Watchdog:
    """Stops a program that has not finished in time and remembers where it was waiting."""

    def __init__(self, timeout: float, program_dir: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.timeout = timeout
        self.program_dir = program_dir
        self.loop = loop
        self.fired = False
        self.where: list[str] = []
        self._done = threading.Event()
        self._main = threading.current_thread()
        self._thread = threading.Thread(target=self._watch, name="airstack-watchdog", daemon=True)

    def __enter__(self) -> _Watchdog:
        if self.timeout > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()

    def _watch(self) -> None:
        if self._done.wait(self.timeout):
            return
        self.where = self._waiting_at()
        self.fired = True
        if self._main is threading.main_thread() and self._main.ident is not None:
            signal.pthread_kill(self._main.ident, signal.SIGINT)

    def _frames_of_program(self, frames: Iterable[FrameType]) -> list[str]:
        root = str(self.program_dir)
        return [
            f"{f.f_code.co_filename}:{f.f_lineno} ({f.f_code.co_name})"
            for f in frames
            if f.f_code.co_filename.startswith(root)
            and not f.f_code.co_filename.startswith(_RUNNER_DIR)
            and "site-packages" not in f.f_code.co_filename
        ]

    def _waiting_at(self) -> list[str]:
        found: list[str] = []
        frame = sys._current_frames().get(self._main.ident or 0)
        if frame is not None:
            stack = [f for f, _ in traceback.walk_stack(frame)][::-1]
            # Only what runs inside the program: the frames the runner's runpy call leads to.
            starts = [i for i, f in enumerate(stack) if f.f_code.co_filename == runpy.__file__]
            found += self._frames_of_program(stack[starts[-1] + 1 :] if starts else [])
        with contextlib.suppress(RuntimeError):
            for task in list(asyncio.all_tasks(self.loop)):
                found += self._frames_of_program(_awaiting(task.get_coro()))
        return list(dict.fromkeys(found))


def _awaiting(coroutine: Any) -> Iterator[FrameType]:
    """The frames of a suspended coroutine and of everything it awaits, outermost first."""
    for _ in range(200):
        if coroutine is None:
            return
        frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
        if frame is not None:
            yield frame
        coroutine = getattr(coroutine, "cr_await", None) or getattr(coroutine, "gi_yieldfrom", None)


def run_program(
    stack_file: StackFile,
    program_dir: Path = PROJECT_ROOT,
    *,
    preview: bool = False,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    lookups: Lookups | None = None,
) -> ProgramRun:
    """Run the program under mocks with ``stack_file``'s config; raise ProgramError on failure.

    ``preview=False`` records the stack as after ``pulumi up`` (every output known); ``preview=True`` as the
    first ``pulumi preview`` of a new stack sees it (computed outputs unknown). ``lookups`` answers the
    program's lookups that cannot be computed; any other fails the run (kind ``lookup``).
    """
    program_dir = program_dir.resolve()
    project: ProjectFile = read_project(program_dir)
    config = dict(stack_file.config)
    mocks = AwsMocks(config.get("aws:region", "us-east-1"), lookups, config)
    monitor = _RecordingMonitor(mocks, stack_file.stack, project.name, config, preview)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    runtime_settings.ROOT.set(None)  # a fresh root Stack per run, so stacks don't leak into each other
    runtime_config.set_all_config(config, sorted(stack_file.secret_keys))
    _configure(monitor, project.name, stack_file.stack, preview)
    main = project.main_file

    def program() -> None:
        runpy.run_path(str(main), run_name="__main__")

    watchdog = _Watchdog(timeout, program_dir, loop)
    try:
        with (
            _program_context(project.main_dir),
            watchdog,
            recording_call_sites(program_dir),
            recording_error_sites(program_dir),
        ):
            loop.run_until_complete(runtime_stack.run_in_stack(program))
        _raise_unanswered(mocks, monitor)
    except KeyboardInterrupt:
        if not watchdog.fired:
            raise
        where = "; ".join(watchdog.where) or "inside the Pulumi SDK (no frame of the program was waiting)"
        raise ProgramError(
            f"the program did not finish within {timeout:g} s; it was waiting at {where}", _registered(monitor)
        ) from None
    except ProgramError:
        raise
    except pulumi.RunError as error:
        _raise_unanswered(mocks, monitor)
        raise ProgramError(str(error), _registered(monitor)) from None
    except DuplicateUrnError as error:
        raise ProgramError(str(error), _registered(monitor)) from None
    except Exception as error:
        _raise_unanswered(mocks, monitor)  # the lookup nothing answered is why the program failed
        raise ProgramError(describe(error, program_dir), _registered(monitor)) from error
    finally:
        _close(loop)
        runtime_config.set_all_config({}, [])

    resources = list(monitor.records.values())
    stack = next((r for r in resources if r.type == STACK_TYPE), None)
    exported = stack.wire_outputs if stack else {}
    return ProgramRun(
        stack=stack_file.stack,
        project=project.name,
        resources=resources,
        outputs=wire.display_view(exported),
        config=config,
        preview=preview,
        wire_outputs=exported,
    )


def _configure(monitor: _RecordingMonitor, project: str, stack: str, preview: bool) -> None:
    """What ``set_mocks`` does, minus its root stack: the program gets its own, as under the language host."""
    features = set(monitor.GetDeploymentInfo(empty_pb2.Empty()).supportedFeatures)
    runtime_settings.configure(
        runtime_mocks.MockSettings(
            monitor=monitor,
            monitor_features=features,
            engine=runtime_mocks.MockEngine(None),
            project=project,
            stack=stack,
            dry_run=preview,
            organization=None,
            callbacks=None,
        )
    )
    # MockSettings leaves these to whatever ran before in this process; a task of a closed loop waits forever.
    for name, fresh in (("outputs", set()), ("package_refs", {}), ("base_providers_by_ref", {})):
        setattr(runtime_settings.SETTINGS, name, fresh)


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left (a stopped program) and let it unwind inside the loop, then close the loop."""
    with contextlib.suppress(BaseException):
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=2))
    with contextlib.suppress(Exception):
        loop.close()
    asyncio.set_event_loop(None)


def _raise_unanswered(mocks: AwsMocks, monitor: _RecordingMonitor) -> None:
    """Fail a run that made lookups nothing answered, even one that caught the error and carried on."""
    if mocks.log.unanswered:
        message = unanswered_message(mocks.log.unanswered, mocks.lookups)
        raise ProgramError(message, _registered(monitor), kind="lookup")


def _registered(monitor: _RecordingMonitor) -> int:
    return sum(1 for r in monitor.records.values() if r.type != STACK_TYPE and not r.is_provider)
