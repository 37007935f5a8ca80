"""YAML as the Pulumi CLI reads it: Go's ``gopkg.in/yaml.v3`` decoding into Go values, rebuilt on PyYAML's events.

yaml.v3 resolves plain scalars by YAML 1.2's core schema with two YAML 1.1 leftovers (``0777`` octals and
``1_000`` digit separators), reads unquoted dates as times, refuses duplicate keys (as written, not as
resolved) and expands merge keys and aliases. PyYAML's constructor follows YAML 1.1 instead (``yes`` is true,
``07:00`` is 420), so values are built here from the parser's events, iteratively, within ``MAX_DEPTH`` levels
and ``MAX_VALUES`` values however many times an alias is used.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_VALUES = 100_000
"""Values a stack file may expand to, aliases counted each time they are used (an alias bomb stops here)."""
MAX_DEPTH = 64
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it: the same events, several times faster (its plain style is "", not None)."""


class InvalidYamlError(Exception):
    def __init__(self, message: str, mark: yaml.Mark | None = None) -> None:
        where = f"line {mark.line + 1}: " if mark is not None else ""
        super().__init__(where + message)


@dataclass(frozen=True)
class Secure:
    """A ``{secure: <ciphertext>}`` value."""

    ciphertext: str


_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
_GO_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_CONSTANTS: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_DATE = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_CLOCK = r"(\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d{1,9})?"
_TIMESTAMPS = (
    re.compile(rf"^{_DATE}[Tt]{_CLOCK}(Z|[+-]\d{{2}}:\d{{2}})$"),
    re.compile(rf"^{_DATE} {_CLOCK}()$"),
    re.compile(rf"^{_DATE}()()()()()$"),
)
"""yaml.v3's timestamp layouts: RFC 3339 with a zone, date and time without one, and a bare date."""
_TAG = "tag:yaml.org,2002:"


def _go_int(text: str) -> int | None:
    if not _GO_INT.match(text):
        return None
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-")
    lowered = digits[:2].lower()
    base = {"0x": 16, "0o": 8, "0b": 2}.get(lowered)
    if base:
        value = int(digits[2:], base)
    elif digits.startswith("0") and len(digits) > 1:
        value = int(digits, 8)  # yaml.v3 keeps YAML 1.1's 0777 octals
    else:
        value = int(digits)
    value *= sign
    return value if -(2**63) <= value < 2**64 else None


def _go_time(text: str) -> str | None:
    """yaml.v3 reads an unquoted date as a time; Pulumi passes it on as Go's ``Time.String()``."""
    match = next((m for m in (t.match(text) for t in _TIMESTAMPS) if m), None)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups()[:6])
    try:
        moment = datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    fraction = (match[7] or "").rstrip("0").rstrip(".")
    zone = match[8]
    offset = "+0000" if zone in (None, "", "Z") else zone.replace(":", "")
    return f"{moment:%Y-%m-%d %H:%M:%S}{fraction} {offset} {'UTC' if offset == '+0000' else offset}"


def _plain_scalar(text: str) -> Any:
    """yaml.v3's ``resolve`` for an untagged, unquoted scalar."""
    if text in _GO_CONSTANTS:
        return _GO_CONSTANTS[text]
    first = text[:1]
    if first == ".":
        return float(text) if re.fullmatch(r"\.[0-9]+([eE][-+]?[0-9]+)?", text) and _finite(text) else text
    if first and (first.isdigit() or first in "+-"):
        moment = _go_time(text)
        if moment is not None:
            return moment
        plain = text.replace("_", "")
        number = _go_int(plain)
        if number is not None:
            return number
        if _GO_FLOAT.match(plain) and _finite(plain):
            return float(plain)
    return text


def _finite(text: str) -> bool:
    return math.isfinite(float(text))  # Go's ParseFloat fails on overflow; the value then stays text


def _scalar(event: yaml.ScalarEvent) -> Any:
    tag, text = event.tag, _go_text(event.value)
    if tag in (None, "!"):
        return _plain_scalar(text) if not event.style and tag is None else text
    if tag == f"{_TAG}str":
        return text
    if tag in (f"{_TAG}int", f"{_TAG}float", f"{_TAG}bool", f"{_TAG}null"):
        value = _plain_scalar(text)
        kinds = {"int": (int,), "float": (int, float), "bool": (bool,), "null": (type(None),)}[tag[len(_TAG) :]]
        if type(value) not in kinds:
            raise InvalidYamlError(f"cannot read {text!r} as {tag.replace(_TAG, '!!')}", event.start_mark)
        return float(value) if tag.endswith("float") else value
    raise InvalidYamlError(f"the YAML tag {tag} has no meaning in a stack file", event.start_mark)


def _go_text(text: str) -> str:
    # Go strings hold UTF-8; an escaped lone surrogate becomes U+FFFD on its way to the program.
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


@dataclass
class _Open:
    """A mapping or sequence being read, with its anchor and key bookkeeping."""

    value: dict[Any, Any] | list[Any]
    anchor: str | None
    start: yaml.Mark
    key: Any = None
    has_key: bool = False
    key_lines: dict[str, int] = field(default_factory=dict)
    merges: list[tuple[Any, yaml.Mark]] = field(default_factory=list)


class _Reader:
    """Builds values from PyYAML events with yaml.v3's rules, without recursion and within bounds."""

    def __init__(self) -> None:
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.values = 0
        self.problems: list[str] = []
        self.stack: list[_Open] = []
        self.sizes: list[int] = []
        self.root: Any = None

    def read(self, events: Iterator[yaml.Event]) -> Any:
        documents = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise InvalidYamlError("a stack file is one YAML document (found a second '---')", event.start_mark)
            elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                self._open(event)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                self._close(event)
            elif isinstance(event, yaml.AliasEvent):
                self._alias(event)
            elif isinstance(event, yaml.ScalarEvent):
                self._scalar(event)
        return self.root

    def _open(self, event: yaml.CollectionStartEvent) -> None:
        self._check_collection_tag(event)
        if len(self.stack) >= MAX_DEPTH:
            raise InvalidYamlError(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        empty: dict[Any, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Open(empty, event.anchor, event.start_mark))
        self.sizes.append(self.values)
        self._count(1, event.start_mark)

    def _close(self, event: yaml.Event) -> None:
        done = self.stack.pop()
        value = self._finish(done)
        size = self.values - self.sizes.pop() + 1
        if done.anchor:
            self.open_anchors.discard(done.anchor)
            self.anchors[done.anchor] = (value, size)
        self._place(value, event.start_mark, raw_key=None)

    def _alias(self, event: yaml.AliasEvent) -> None:
        anchor = str(event.anchor)
        if anchor in self.open_anchors:
            raise InvalidYamlError(f"the alias *{anchor} is inside its own anchor", event.start_mark)
        if anchor not in self.anchors:
            raise InvalidYamlError(f"unknown anchor {anchor!r} referenced", event.start_mark)
        value, size = self.anchors[anchor]
        self._count(size, event.start_mark)
        self._place(value, event.start_mark, raw_key=None)

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        value = _scalar(event)
        self._count(1, event.start_mark)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)
        merge = event.value == "<<" and not event.style and event.tag is None
        self._place(value, event.start_mark, raw_key=event.value, merge=merge)

    def _place(self, value: Any, mark: yaml.Mark, *, raw_key: str | None, merge: bool = False) -> None:
        if self.stack:
            self._add(self.stack[-1], value, mark, raw_key=raw_key, merge=merge)
        else:
            self.root = value

    def _check_collection_tag(self, event: yaml.CollectionStartEvent) -> None:
        if event.tag not in (None, "!", f"{_TAG}map", f"{_TAG}seq"):
            raise InvalidYamlError(f"the YAML tag {event.tag} has no meaning in a stack file", event.start_mark)

    def _count(self, n: int, mark: yaml.Mark) -> None:
        self.values += n
        if self.values > MAX_VALUES:
            raise InvalidYamlError(
                f"the file expands to more than {MAX_VALUES:,} values (aliases count each time they are used)", mark
            )

    def _add(self, parent: _Open, value: Any, mark: yaml.Mark, *, raw_key: str | None, merge: bool) -> None:
        if isinstance(parent.value, list):
            parent.value.append(value)
        elif not parent.has_key:
            self._key(parent, value, mark, raw_key, merge)
        else:
            key, parent.has_key = parent.key, False
            if key is _MERGE:
                parent.merges.append((value, mark))
            else:
                parent.value[key] = value

    def _key(self, parent: _Open, value: Any, mark: yaml.Mark, raw_key: str | None, merge: bool) -> None:
        parent.has_key = True
        if merge:
            parent.key = _MERGE
            return
        if not isinstance(value, str):
            raise InvalidYamlError(f"the key {json.dumps(value, default=str)} is not text: quote it", mark)
        if raw_key is not None:  # yaml.v3 compares keys as written, as its duplicate check does
            if raw_key in parent.key_lines:
                self.problems.append(
                    f"line {mark.line + 1}: mapping key {json.dumps(raw_key)} already defined at line "
                    f"{parent.key_lines[raw_key]}"
                )
            parent.key_lines[raw_key] = mark.line + 1
        parent.key = value

    def _finish(self, done: _Open) -> Any:
        value = done.value
        if isinstance(value, list):
            return value
        for merged, mark in done.merges:
            sources = merged if isinstance(merged, list) else [merged]
            for source in sources:
                if not isinstance(source, dict):
                    raise InvalidYamlError("a merge key (<<) takes a mapping or a list of mappings", mark)
                for k, v in source.items():
                    if k not in value:
                        value[k] = v
                        self._count(0, mark)
        if set(value) == {"secure"} and isinstance(value["secure"], str):
            return Secure(value["secure"])
        return value


_MERGE = object()


def read_yaml(text: str) -> tuple[Any, list[str]]:
    """The document as yaml.v3 decodes it into Go values, and the duplicate keys it refuses."""
    reader = _Reader()
    try:
        document = reader.read(yaml.parse(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as exc:
        where = f"line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}: " if exc.problem_mark else ""
        context = f" ({exc.context})" if exc.context else ""
        raise InvalidYamlError(f"not valid YAML: {where}{exc.problem}{context}") from None
    except yaml.YAMLError as exc:
        raise InvalidYamlError(f"not valid YAML: {' '.join(str(exc).split())}") from None
    except UnicodeEncodeError:
        raise InvalidYamlError("not UTF-8 text (it holds a lone surrogate)") from None
    return document, reader.problems
