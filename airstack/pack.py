"""A CrossGuard policy pack, reached the way the Pulumi engine reaches it.

``start_pack`` gives an ``Analyzer``: either the pack's own analyzer servicer, built in this process by the
pack's own ``__main__.py`` (``PolicyPack(...)`` is stopped just before it would start serving), or the pack
started as the Pulumi CLI starts a Python pack (``python -u -m pulumi.policy <engine> <pack dir>``, from a
given interpreter) and queried over its gRPC port. Both answer the same protobuf requests.

``reconcile_config`` is the engine's ``ReconcilePolicyPackConfig``: every policy's level and schema defaults,
then the pack's initial config, then the config file, validated against each policy's schema. airstack is
stricter than the CLI where the CLI would silently ignore a mistake: an unknown policy name is an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from unittest import mock

import grpc
import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from airstack.stackfile import PROJECT_ROOT

POLICY_DIR = PROJECT_ROOT / "policies"
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_LEVEL_TO_PROTO = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
PROTO_TO_LEVEL = {v: k for k, v in _LEVEL_TO_PROTO.items()}
_RPC_TIMEOUT_SECONDS = 120
_MAX_MESSAGE = 1024 * 1024 * 400


class PackError(Exception):
    """The pack cannot be started, or its config is invalid; the message says which and why."""


class Analyzer(Protocol):
    def GetAnalyzerInfo(self, request: empty_pb2.Empty) -> Any: ...  # noqa: N802 (gRPC method names)
    def Configure(self, request: Any) -> Any: ...  # noqa: N802
    def ConfigureStack(self, request: Any) -> Any: ...  # noqa: N802
    def Analyze(self, request: Any) -> Any: ...  # noqa: N802
    def AnalyzeStack(self, request: Any) -> Any: ...  # noqa: N802


class _Calls:
    """An ``Analyzer`` over a function that makes one call: ``call(method name, request) -> response``."""

    def __init__(self, call: Callable[[str, Any], Any]) -> None:
        self._call = call

    def GetAnalyzerInfo(self, request: empty_pb2.Empty) -> Any:  # noqa: N802 (gRPC method names)
        return self._call("GetAnalyzerInfo", request)

    def Configure(self, request: Any) -> Any:  # noqa: N802
        return self._call("Configure", request)

    def ConfigureStack(self, request: Any) -> Any:  # noqa: N802
        return self._call("ConfigureStack", request)

    def Analyze(self, request: Any) -> Any:  # noqa: N802
        return self._call("Analyze", request)

    def AnalyzeStack(self, request: Any) -> Any:  # noqa: N802
        return self._call("AnalyzeStack", request)


def _servicer_analyzer(servicer: Any) -> Analyzer:
    """The pack's own servicer, called directly (the same methods its gRPC server would call)."""
    return _Calls(lambda method, request: getattr(servicer, method)(request, None))


def _grpc_analyzer(stub: analyzer_pb2_grpc.AnalyzerStub) -> Analyzer:
    return _Calls(lambda method, request: getattr(stub, method)(request, timeout=_RPC_TIMEOUT_SECONDS))


class _StopServing(Exception):  # noqa: N818 (a control-flow signal, not an error)
    pass


class _CapturingServer:
    def __init__(self) -> None:
        self.servicer: Any = None

    def add_insecure_port(self, address: str) -> int:
        return 0

    def start(self) -> None:
        raise _StopServing


def _load_servicer(pack_dir: Path) -> Any:
    """Run the pack's ``__main__.py`` as the CLI would, keeping the servicer instead of serving it."""
    server = _CapturingServer()

    def capture(servicer: Any, target: _CapturingServer) -> None:
        target.servicer = servicer

    path = str(pack_dir)
    sys.path.insert(0, path)
    try:
        with (
            mock.patch("pulumi_policy.policy.grpc.server", return_value=server),
            mock.patch("pulumi_policy.policy.analyzer_pb2_grpc.add_AnalyzerServicer_to_server", capture),
            contextlib.suppress(_StopServing),
        ):
            runpy.run_path(path, run_name="__main__")
    except Exception as error:
        raise PackError(f"the policy pack in {pack_dir} failed to load: {type(error).__name__}: {error}") from error
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(path)
    if server.servicer is None:
        raise PackError(f"{pack_dir}/__main__.py did not build a PolicyPack")
    return server.servicer


@contextlib.contextmanager
def _served(pack_dir: Path, python: str) -> Iterator[Analyzer]:
    """Start the pack as ``pulumi preview --policy-pack`` does and talk to it over its port."""
    resolved = str(Path(python).absolute()) if os.sep in python else shutil.which(python) or python
    command = [resolved, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(pack_dir)]
    try:
        process = subprocess.Popen(
            command, cwd=pack_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
    except OSError as error:
        raise PackError(f"the policy pack did not start with {python}: {error}") from None
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        if not first.isdigit():
            process.kill()
            _, err = process.communicate(timeout=10)
            raise PackError(f"the policy pack did not start with {python}: {(first + err).strip()[-2000:]}")
        options = [("grpc.max_receive_message_length", _MAX_MESSAGE), ("grpc.max_send_message_length", _MAX_MESSAGE)]
        with grpc.insecure_channel(f"127.0.0.1:{first}", options=options) as channel:
            yield _grpc_analyzer(analyzer_pb2_grpc.AnalyzerStub(channel))
    finally:
        process.kill()
        process.wait(timeout=10)


_LOADED: dict[Path, Any] = {}


@contextlib.contextmanager
def start_pack(pack_dir: Path = POLICY_DIR, python: str | None = None) -> Iterator[Analyzer]:
    """The pack's analyzer: in this process, or (with ``python``) started as the Pulumi CLI starts it."""
    pack_dir = pack_dir.resolve()
    if python:
        with _served(pack_dir, python) as analyzer:
            yield analyzer
        return
    if pack_dir not in _LOADED:
        _LOADED[pack_dir] = _load_servicer(pack_dir)
    yield _servicer_analyzer(_LOADED[pack_dir])


# ------------------------------------------------------------------------------------------------ config


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    level: str
    kind: str
    """``resource`` or ``stack``."""
    schema: dict[str, Any] | None
    fix: str = ""
    """How to fix a violation (the policy's ``remediation_steps``)."""


def policies_of(info: Any) -> list[PolicyInfo]:
    found = []
    for p in info.policies:
        schema: dict[str, Any] | None = None
        if p.HasField("configSchema"):
            schema = {"type": "object"}
            properties = json_format.MessageToDict(p.configSchema.properties)
            if properties:
                schema["properties"] = properties
            if p.configSchema.required:
                schema["required"] = list(p.configSchema.required)
        kind = "stack" if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK else "resource"
        level = PROTO_TO_LEVEL[p.enforcementLevel]
        found.append(PolicyInfo(p.name, p.description, level, kind, schema, p.remediation_steps))
    return found


@dataclass(frozen=True)
class PolicyConfig:
    level: str
    properties: dict[str, Any]


def read_pack_config(path: Path) -> dict[str, Any]:
    """A ``--policy-pack-config`` file, parsed as the CLI parses it (levels and objects)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PackError(f"policy pack config {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PackError(f"policy pack config {path} cannot be read: {error}") from None
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PackError(f"policy pack config {path} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise PackError(f"policy pack config {path} must be a JSON object of policy names")
    document.pop("environments", None)
    return document


def _parse_entry(name: str, value: Any) -> tuple[str | None, dict[str, Any]]:
    if isinstance(value, str):
        if value not in LEVELS:
            raise PackError(f"{name}: {value!r} is not an enforcement level ({', '.join(LEVELS)})")
        return value, {}
    if isinstance(value, dict):
        properties = dict(value)
        level = properties.pop("enforcementLevel", None)
        if level is not None and level not in LEVELS:
            raise PackError(f"{name}: enforcementLevel {level!r} is not one of {', '.join(LEVELS)}")
        return level, properties
    raise PackError(f"{name}: {json.dumps(value)} is not a valid value; must be a level or an object")


def _apply(result: dict[str, PolicyConfig], given: Mapping[str, Any], known: set[str]) -> None:
    parsed = {name: _parse_entry(name, value) for name, value in given.items()}
    unknown = sorted(n for n in parsed if n != "all" and n not in known)
    if unknown:
        raise PackError(f"unknown policies in the pack config: {', '.join(unknown)} (the pack has {len(known)})")
    all_level = parsed.get("all", (None, {}))[0]
    if all_level:
        for name, config in result.items():
            result[name] = PolicyConfig(all_level, config.properties)
    for name, (level, properties) in parsed.items():
        if name == "all":
            continue
        current = result[name]
        result[name] = PolicyConfig(level or current.level, {**current.properties, **properties})


def reconcile_config(policies: list[PolicyInfo], *configs: Mapping[str, Any]) -> dict[str, PolicyConfig]:
    """Defaults from each policy, then each config in turn; raise PackError listing every schema problem."""
    result = {
        p.name: PolicyConfig(
            p.level,
            {k: v["default"] for k, v in (p.schema or {}).get("properties", {}).items() if "default" in v},
        )
        for p in policies
    }
    known = set(result)
    for config in configs:
        _apply(result, config, known)
    problems = []
    for policy in policies:
        if policy.schema is None:
            continue
        validator = jsonschema.Draft7Validator(policy.schema)
        for error in sorted(validator.iter_errors(result[policy.name].properties), key=lambda e: list(e.path)):
            where = ".".join(str(p) for p in error.path)
            problems.append(f"{policy.name}{'.' + where if where else ''}: {error.message}")
    if problems:
        raise PackError("the policy pack config is invalid: " + "; ".join(problems))
    return result


def configure_request(config: Mapping[str, PolicyConfig]) -> analyzer_pb2.ConfigureAnalyzerRequest:
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, entry in config.items():
        properties = struct_pb2.Struct()
        properties.update(entry.properties)
        request.policyConfig[name].CopyFrom(
            analyzer_pb2.PolicyConfig(enforcementLevel=_LEVEL_TO_PROTO[entry.level], properties=properties)
        )
    return request
