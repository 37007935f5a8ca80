"""Data-source lookups offline: recorded answers from a lookups file, and where in the program each was made.

A program's lookups (``aws.route53.get_zone``, ``aws.ec2.get_ami``, a ``StackReference``) ask a cloud account
that airstack does not have. The pure ones are computed (see ``airstack.mocks``); any other is answered from a
lookups file of recorded results, or reported as unanswered with the program's own file:line of the call —
never answered with an empty result that crashes later or silently drops a value.

The lookups file (YAML or JSON) lists answers; the first entry whose ``token`` is the lookup's and whose
``args`` are all equal to the call's arguments (entries without ``args`` match any call) gives the ``result``::

    lookups:
      - token: aws:route53/getZone:getZone
        args: {name: example.com}
        result: {id: Z0123456789, zoneId: Z0123456789, name: example.com.}
      - token: pulumi:pulumi:StackReference      # a stack reference: its name and its outputs
        args: {name: acme/network/prod}
        result: {outputs: {vpcId: vpc-0abc}}
      - token: aws:ec2/vpc:Vpc                   # an existing resource read with Vpc.get("shared", "vpc-0abc")
        args: {id: vpc-0abc}
        result: {cidrBlock: 10.0.0.0/16}

A resource read with ``.get`` and not in the file gets the outputs the mocks compute (its ID, an ARN).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

STACK_REFERENCE = "pulumi:pulumi:StackReference"
_ENTRY_KEYS = frozenset({"token", "args", "result", "note"})
_SDK_INVOKES = ("invoke", "invoke_single", "invoke_output", "invoke_output_single", "invoke_async")


class LookupsError(Exception):
    """The lookups file cannot be read or is not in the documented form."""


@dataclass(frozen=True)
class Answer:
    token: str
    args: dict[str, Any] | None
    result: dict[str, Any]
    where: str
    """``file#entry`` for messages."""


@dataclass(frozen=True)
class Lookups:
    answers: tuple[Answer, ...] = ()
    path: Path | None = None

    def find(self, token: str, args: Mapping[str, Any]) -> dict[str, Any] | None:
        for answer in self.answers:
            if answer.token == token and (answer.args is None or _matches(answer.args, args)):
                return answer.result
        return None


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return set(expected) == set(actual) and all(_same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(_same(e, a) for e, a in zip(expected, actual, strict=True))
    return expected == actual


def _matches(expected: Mapping[str, Any], args: Mapping[str, Any]) -> bool:
    return all(key in args and _same(value, args[key]) for key, value in expected.items())


def read_lookups(path: Path) -> Lookups:
    """Read a lookups file; a missing or malformed file raises ``LookupsError`` naming the entry at fault."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LookupsError(f"lookups file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LookupsError(f"lookups file {path} cannot be read: {error}") from None
    try:
        document = yaml.safe_load(text)  # JSON is YAML
    except yaml.YAMLError as error:
        raise LookupsError(f"lookups file {path} is neither YAML nor JSON: {error}") from None
    entries = document.get("lookups") if isinstance(document, Mapping) else document
    if isinstance(document, Mapping) and set(document) - {"lookups"}:
        raise LookupsError(f"lookups file {path}: unknown keys {', '.join(sorted(set(document) - {'lookups'}))}; "
                           "the file has one key, `lookups`, a list of {token, args, result}")  # fmt: skip
    if entries is None:
        return Lookups((), path)
    if not isinstance(entries, list):
        raise LookupsError(f"lookups file {path}: `lookups` must be a list of {{token, args, result}}")
    answers = []
    for index, entry in enumerate(entries):
        where = f"{path}: lookups[{index}]"
        if not isinstance(entry, Mapping):
            raise LookupsError(f"{where} must be a mapping with token, args and result")
        unknown = sorted(set(entry) - _ENTRY_KEYS)
        if unknown:
            raise LookupsError(f"{where}: unknown keys {', '.join(map(str, unknown))} (allowed: token, args, result, "
                               "note)")  # fmt: skip
        token = entry.get("token")
        if not isinstance(token, str) or token.count(":") < 2:
            raise LookupsError(f"{where}: token must be a lookup token such as aws:route53/getZone:getZone, "
                               f"not {token!r}")  # fmt: skip
        args, result = entry.get("args"), entry.get("result")
        if args is not None and not isinstance(args, Mapping):
            raise LookupsError(f"{where}: args must be a mapping of argument names to values")
        if not isinstance(result, Mapping):
            raise LookupsError(f"{where}: result must be a mapping of the lookup's outputs (as its result type "
                               "names them in camelCase)")  # fmt: skip
        answers.append(Answer(token, dict(args) if args is not None else None, dict(result), where))
    return Lookups(tuple(answers), path)


# ------------------------------------------------------------------------------------------- call sites

CALL_SITE: contextvars.ContextVar[str | None] = contextvars.ContextVar("airstack_call_site", default=None)
"""Where the program made the lookup being answered (``file:line``); copied into the SDK's tasks and threads."""


def _is_program_file(filename: str, roots: tuple[str, ...]) -> bool:
    return filename.startswith(roots) and "site-packages" not in filename and "dist-packages" not in filename


def program_frames(frames: list[FrameType] | list[traceback.FrameSummary], root: Path) -> list[str]:
    """``file:line`` of each of the program's own frames (not of packages installed inside its folder)."""
    roots = (str(root) + "/",)
    found = []
    for frame in frames:
        if isinstance(frame, traceback.FrameSummary):
            filename, line = frame.filename, frame.lineno
        else:
            filename, line = frame.f_code.co_filename, frame.f_lineno
        if _is_program_file(filename, roots):
            found.append(f"{filename}:{line}")
    return found


def _innermost_program_site(root: Path) -> str | None:
    frame: FrameType | None = sys._getframe(2)
    sites = program_frames([f for f, _ in traceback.walk_stack(frame)], root) if frame else []
    return sites[0] if sites else None


@contextlib.contextmanager
def at(site: str | None) -> Iterator[None]:
    token = CALL_SITE.set(site)
    try:
        yield
    finally:
        CALL_SITE.reset(token)


def _site_recording(original: Callable[..., Any], root: Path) -> Callable[..., Any]:
    if getattr(original, "__airstack_wrapped__", False):
        return original

    async def invoke_async(*args: Any, **kwargs: Any) -> Any:
        with at(CALL_SITE.get() or _innermost_program_site(root)):
            return await original(*args, **kwargs)

    def invoke(*args: Any, **kwargs: Any) -> Any:
        # The SDK creates the lookup's task inside this call, so the task (and the thread that asks the
        # monitor) inherits the call site.
        with at(CALL_SITE.get() or _innermost_program_site(root)):
            return original(*args, **kwargs)

    wrapper: Callable[..., Any] = invoke_async if original.__name__ == "invoke_async" else invoke
    wrapper.__airstack_wrapped__ = True  # type: ignore[attr-defined]
    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    return wrapper


@contextlib.contextmanager
def recording_call_sites(root: Path) -> Iterator[None]:
    """While the program runs, remember where each lookup is made (the SDK's invoke functions, wrapped)."""
    import pulumi.runtime
    import pulumi.runtime.invoke as invoke_module

    saved: list[tuple[Any, str, Any]] = []
    for module in (pulumi.runtime, invoke_module):
        for name in _SDK_INVOKES:
            original = getattr(module, name, None)
            if callable(original):
                saved.append((module, name, original))
                setattr(module, name, _site_recording(original, root))
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


# ------------------------------------------------------------------------------------------- unanswered


@dataclass(frozen=True)
class Unanswered:
    token: str
    args: dict[str, Any]
    site: str | None


@dataclass
class LookupLog:
    """The lookups a run could not answer, in the order the program made them."""

    unanswered: list[Unanswered] = field(default_factory=list)

    def add(self, token: str, args: Mapping[str, Any]) -> Unanswered:
        entry = Unanswered(token, _plain(args), CALL_SITE.get())
        if entry not in self.unanswered:
            self.unanswered.append(entry)
        return entry


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class UnansweredLookup(Exception):  # noqa: N818 (what the program's lookup raises, like a provider's failure)
    def __init__(self, entry: Unanswered, lookups: Lookups | None) -> None:
        super().__init__(
            f"unanswered lookup `{entry.token}`"
            + (f" at {entry.site}" if entry.site else "")
            + f"; answer it in the lookups file{f' ({lookups.path})' if lookups and lookups.path else ''}"
        )


def unanswered_message(entries: list[Unanswered], lookups: Lookups | None) -> str:
    """Every unanswered lookup with where the program made it, and entries to paste into the lookups file."""
    file = f"the lookups file ({lookups.path})" if lookups and lookups.path else "a lookups file (--lookups FILE)"
    entries = sorted(entries, key=lambda e: (e.site or "~", e.token))
    lines = []
    for entry in entries:
        where = f" at {entry.site}" if entry.site else ""
        lines.append(f"unanswered lookup `{entry.token}`{where}; answer it in the lookups file")
    lines.append(f"airstack cannot ask a cloud account; record what these return in {file}, for example:")
    lines.append("lookups:")
    for entry in entries:
        lines.append(f"  - token: {entry.token}")
        if entry.args:
            lines.append(f"    args: {json.dumps(entry.args, sort_keys=True)}")
        if entry.token == STACK_REFERENCE:
            lines.append("    result: {outputs: {}}  # the stack outputs the program reads")
        else:
            lines.append("    result: {}  # the outputs the program reads, in camelCase")
    return "\n".join(lines)
