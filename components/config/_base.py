"""What every section model shares: strict scalar types, the validation context, and a few value types.

Numbers and booleans are strict: the Pulumi CLI hands structured config to the program as JSON, so a number the
user wrote arrives as a number and a quoted ``"25"`` arrives as text. Accepting the text would skip the checks
that compare numbers (a margin of ``"25"`` once skipped the 12 h SQS check).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationInfo
from pydantic.alias_generators import to_camel

from components.sizing import parse_duration

NAMESPACE = "airstack"
Environment = Literal["dev", "acc", "prod", "dr"]
PROTECTED_ENVIRONMENTS = ("prod", "dr")
"""Environments whose stateful data must survive mistakes: Multi-AZ, deletion protection, protect."""

Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, validate_default=True
    )


def context_value(info: ValidationInfo, key: str) -> Any:
    """A value the loader put in the validation context (the stack, its region, environment, margin)."""
    return (info.context or {}).get(key)


def environment_of(info: ValidationInfo) -> str | None:
    env = context_value(info, "environment")
    return env if isinstance(env, str) else None


NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")
STACK_NAME_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
"""Stack names become part of bucket names and RDS identifiers: lowercase letters, digits, single hyphens."""


def _name(value: str) -> str:
    if not NAME_PATTERN.fullmatch(value):
        raise ValueError("use 2-32 lowercase letters, digits and hyphens, starting with a letter")
    return value


Name = Annotated[str, Strict(), AfterValidator(_name)]


def _duration(value: str) -> str:
    parse_duration(value)
    return value


Duration = Annotated[str, Strict(), AfterValidator(_duration)]
Count = Annotated[int, Strict(), Field(ge=0)]
