"""Validate one stack's config values and report every problem at once.

``load_stack_config`` takes the values as the Pulumi CLI hands them to the program (keys like
``airstack:network``, JSON already decoded) and either returns a ``StackConfig`` or raises ``ConfigError``,
whose message has one line per problem: the key path as the stack file spells it, the value, what is allowed.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from components.config._base import NAMESPACE, _Model
from components.config.aws import AWS_PROVIDER_KEYS, AWS_SECRET_KEYS
from components.config.limits import broker_name_problems, capacity_problems, derived_name_problems
from components.config.operations import OFFLINE_SECRET_PREFIX
from components.config.stack import StackConfig
from components.config.workloads import Broker

SECRET_KEYS = ("alerting.webhookUrl",)
"""``airstack:`` paths that hold a secret and must come from `pulumi config set --secret`."""
SECRET_PATHS = (*(f"{NAMESPACE}:{k}" for k in SECRET_KEYS), *AWS_SECRET_KEYS)
_PROVIDER_FIELDS = {"aws:region": "awsRegion", "aws:defaultTags": "awsDefaultTags"}
_FIELD_KEYS = {field: key for key, field in _PROVIDER_FIELDS.items()}
_NOT_IN_THE_FILE = ("stack", *_PROVIDER_FIELDS.values())
"""Fields the loader fills from elsewhere (the stack's name, the aws: keys); never from airstack: keys."""
NAMESPACES = (NAMESPACE, "aws")


@dataclass(frozen=True)
class Problem:
    key: str
    value: Any
    message: str

    def render(self) -> str:
        shown = "(missing)" if self.value is _MISSING else _show(self.value)
        return f"{_printable(self.key)} = {shown}: {self.message}"


_MISSING = object()
MAX_SHOWN = 100
"""Problems listed in full; a file with more is mostly something else than a stack file."""


def _printable(text: str) -> str:
    """One line, whatever the file holds: control characters and lone surrogates are escaped."""
    if text.isprintable():
        return text
    return json.dumps(text)[1:-1]


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    text = _printable(text)
    return text if len(text) <= 80 else text[:77] + "..."


class ConfigError(Exception):
    """A stack's configuration is invalid; ``str()`` is the full, user-facing message."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        lines = [f"{_printable(source)} is not a valid airstack stack configuration ({count}):"]
        lines += [f"  - {p.render()}" for p in problems[:MAX_SHOWN]]
        if len(problems) > MAX_SHOWN:
            lines.append(f"  - ... and {len(problems) - MAX_SHOWN} more")
        super().__init__("\n".join(lines))


# ------------------------------------------------------------------------------------------------- paths


def _spelled(data: Any, loc: Iterable[str | int]) -> list[str | int]:
    """The error's path as the stack file spells it: a defaulted field's error names it multi_az, the file multiAz."""
    parts: list[str | int] = []
    for part in loc:
        present = isinstance(data, Mapping) and part in data
        parts.append(part if present or not isinstance(part, str) else to_camel(part))
        data = _lookup(data, [parts[-1]])
    return parts


def _key_path(loc: Iterable[str | int]) -> str:
    parts = list(loc)
    if not parts:
        return f"{NAMESPACE}:"
    head, rest = parts[0], parts[1:]
    key = _FIELD_KEYS.get(str(head), f"{NAMESPACE}:{head}")
    for part in rest:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key


def _lookup(data: Any, loc: Iterable[str | int]) -> Any:
    for part in loc:
        # Two branches, not one `or`: each narrows `data` and `part` to a pair the type checker can index.
        if isinstance(data, Mapping) and part in data:  # noqa: SIM114
            data = data[part]
        elif isinstance(data, list | tuple) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return _MISSING
    return data


def _under(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith((f"{ancestor}.", f"{ancestor}["))


# ---------------------------------------------------------------------------------------------- messages

_TYPE_NAMES = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "a mapping"}


def _found(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {json.dumps(value, ensure_ascii=False)}" if len(value) <= 40 else "text"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _number_message(found: Any) -> str:
    if isinstance(found, str):
        return f"must be a whole number written without quotes, not {_found(found)}"
    return f"must be a whole number, not {found if isinstance(found, float) else _found(found)}"


def _text_message(found: Any) -> str:
    if isinstance(found, int | float | bool):
        return f"must be text; YAML read {json.dumps(found)} as {_found(found)}: put it in quotes"
    return "must be text"


_MESSAGES: dict[str, Any] = {
    "missing": lambda found, ctx: "required",
    "literal_error": lambda found, ctx: f"must be one of {ctx.get('expected', '')}",
    "string_pattern_mismatch": lambda found, ctx: f"must match {ctx.get('pattern')}",
    "int_type": lambda found, ctx: _number_message(found),
    "int_from_float": lambda found, ctx: _number_message(found),
    "int_parsing": lambda found, ctx: _number_message(found),
    "bool_type": lambda found, ctx: f"must be true or false, written without quotes, not {_found(found)}",
    "string_type": lambda found, ctx: _text_message(found),
    "dict_type": lambda found, ctx: f"must be a mapping of keys to values, not {_found(found)}",
    "model_type": lambda found, ctx: f"must be a mapping of keys to values, not {_found(found)}",
    "model_attributes_type": lambda found, ctx: f"must be a mapping of keys to values, not {_found(found)}",
    "tuple_type": lambda found, ctx: f"must be a list, not {_found(found)}",
    "list_type": lambda found, ctx: f"must be a list, not {_found(found)}",
    "greater_than_equal": lambda found, ctx: f"must be at least {ctx.get('ge')}",
    "less_than_equal": lambda found, ctx: f"must be at most {ctx.get('le')}",
    "too_short": lambda found, ctx: f"must have at least {ctx.get('min_length')} item(s)",
    "too_long": lambda found, ctx: f"must have at most {ctx.get('max_length')} items",
}
"""Pydantic's error types in the words of a stack file (``extra_forbidden`` is handled with its suggestion)."""


def _message(error: Mapping[str, Any], field_names: list[str]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        unknown = str(error["loc"][-1])
        guess = difflib.get_close_matches(unknown, field_names, n=1) if len(unknown) <= 100 else []
        hint = f" (did you mean {guess[0]}?)" if guess else ""
        return f"unknown key{hint}; check the spelling against Pulumi.dev.yaml and DESIGN.md §3"
    if kind in _MESSAGES:
        return _MESSAGES[kind](error.get("input"), error.get("ctx", {}))
    return str(error["msg"]).removeprefix("Value error, ")


def _fields(loc: Iterable[str | int]) -> list[str]:
    """The keys the model accepts where an unknown key was found, spelled as in the file."""
    model: Any = StackConfig
    for part in list(loc)[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            field = next((f for f in getattr(model, "model_fields", {}).values() if f.alias == part), None)
        model = _model_of(field.annotation) if field is not None else None
    fields = getattr(model, "model_fields", {})
    return [f.alias or name for name, f in fields.items() if (f.alias or name) not in _NOT_IN_THE_FILE]


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, _Model):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------------------------------------- secrets


def _may_hold_secret(path: str) -> bool:
    return any(_under(secret, path) for secret in SECRET_PATHS)


def _secret_problems(values: Mapping[str, Any], secret_paths: set[str]) -> tuple[list[Problem], list[str]]:
    """Secrets stored in plain text, and `secure:` values where airstack needs plain text."""
    problems, misplaced = [], []
    for path in sorted(secret_paths):
        key, _, rest = path.partition(".")
        value = _lookup(values.get(key, _MISSING), rest.split(".") if rest else [])
        opaque = isinstance(value, str) and value.startswith(OFFLINE_SECRET_PREFIX)
        if opaque and path not in SECRET_PATHS and _may_hold_secret(path):
            misplaced.append(path)
            problems.append(
                Problem(
                    path,
                    "(secret, not shown)",
                    "encrypted as a whole, so its settings cannot be checked before `up`: encrypt only the secret in "
                    "it, e.g. `pulumi config set --secret --path '"
                    + next(s for s in SECRET_PATHS if _under(s, path))
                    + "' <value>`",
                )
            )
        elif not _may_hold_secret(path):
            misplaced.append(path)
            problems.append(
                Problem(
                    path,
                    "(secret, not shown)",
                    "must be plain text, not a `secure:` value: airstack checks it and it ends up in resource "
                    "names, tags or settings that AWS shows in plain text anyway; secrets are "
                    + ", ".join(SECRET_PATHS),
                )
            )
    for path in SECRET_PATHS:
        key, _, rest = path.partition(".")
        value = _lookup(values.get(key, _MISSING), rest.split(".") if rest else [])
        secret = any(_under(path, p) for p in secret_paths)
        if value is not _MISSING and value is not None and not secret:
            problems.append(
                Problem(
                    path,
                    "(plain text, not shown)",
                    f"a secret must not be stored in plain text; run `pulumi config set --secret --path "
                    f"'{path}' <value>`",
                )
            )
    return problems, misplaced


# ---------------------------------------------------------------------------------------------- loading


def _namespace_problems(values: Mapping[str, Any]) -> list[Problem]:
    problems = []
    known = [
        *(f"aws:{k}" for k in AWS_PROVIDER_KEYS),
        *(f"{NAMESPACE}:{f.alias}" for f in StackConfig.model_fields.values()),
    ]
    for key, value in values.items():
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE and name in _NOT_IN_THE_FILE:
            problems.append(
                Problem(key, value, f"unknown key; {_FIELD_KEYS.get(name, 'the stack name')} is set elsewhere")
            )
            continue
        if namespace == NAMESPACE and name:
            continue
        if namespace == "aws" and name in AWS_PROVIDER_KEYS:
            continue
        short = len(problems) < MAX_SHOWN and len(key) <= 100
        guess = difflib.get_close_matches(key, known, n=1, cutoff=0.75) if short else []
        hint = f"did you mean {guess[0]}? " if guess else ""
        what = "not a setting of the aws provider" if namespace == "aws" else f"unknown namespace {namespace!r}"
        problems.append(
            Problem(key, value, f"{what}; {hint}airstack reads airstack:* keys and the aws provider's aws:* keys")
        )
    return problems


def load_stack_config(
    values: Mapping[str, Any],
    *,
    stack: str,
    source: str,
    secret_keys: Iterable[str] = (),
    secret_paths: Iterable[str] | None = None,
) -> StackConfig:
    """Validate one stack's config values (keys like ``airstack:network``, values already decoded).

    ``secret_keys`` are the keys the CLI marks secret (a whole key is secret when any value under it is);
    ``secret_paths``, when the stack file is at hand, says exactly which values were written ``secure:``.
    """
    data: dict[str, Any] = {"stack": stack}
    for key, value in values.items():
        namespace, _, name = key.partition(":")
        if key in _PROVIDER_FIELDS:
            data[_PROVIDER_FIELDS[key]] = value
        elif namespace == NAMESPACE and name and name not in _NOT_IN_THE_FILE:
            data[name] = value
    problems = _namespace_problems(values)
    secret_problems, misplaced = _secret_problems(values, set(secret_keys if secret_paths is None else secret_paths))
    problems += secret_problems
    region = data.get("awsRegion")
    problems += [Problem(k, v, m) for k, v, m in derived_name_problems(stack, region, data.get("teams"))]
    problems += [Problem(k, v, m) for k, v, m in broker_name_problems(stack, data.get("broker"))]
    # An omitted section is validated from `{}`, not taken as a ready-made default: its checks (a prod metastore
    # must be Multi-AZ, ...) depend on the environment and would otherwise never run.
    for field_name, field in StackConfig.model_fields.items():
        if isinstance(field.default, _Model) and field_name != "aws_default_tags":
            data.setdefault(to_camel(field_name), {})

    margin = _lookup(data, ["broker", "visibilityMarginPercent"])
    broker_type = _lookup(data, ["broker", "type"])
    default_tags = _lookup(data, ["awsDefaultTags", "tags"])
    context = {
        "environment": data.get("environment"),
        "stack": stack,
        "region": region if isinstance(region, str) else None,
        "visibility_margin_percent": Broker().visibility_margin_percent if margin is _MISSING else margin,
        "broker_type": Broker().type if broker_type is _MISSING else broker_type,
        "metastore_multi_az": _lookup(data, ["metastore", "multiAz"]),
        "default_tag_keys": list(default_tags) if isinstance(default_tags, Mapping) else [],
    }
    try:
        # camelCase only, as the stack file spells keys: `az_count` next to `azCount` would be ambiguous.
        config = StackConfig.model_validate(data, context=context, by_alias=True, by_name=False)
    except ValidationError as exc:
        for error in exc.errors():
            spelled = _spelled(data, error["loc"])
            key = _key_path(spelled)
            if not any(_under(key, path) for path in misplaced):
                suggest = error["type"] == "extra_forbidden" and len(problems) < MAX_SHOWN
                problems.append(
                    Problem(key, _lookup(data, spelled), _message(error, _fields(spelled) if suggest else []))
                )
        raise ConfigError(source, problems) from None
    problems += [Problem(k, v, m) for k, v, m in capacity_problems(config)]
    if problems:
        raise ConfigError(source, problems)
    return config


def decode_config_value(value: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text; plain strings stay strings."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value
