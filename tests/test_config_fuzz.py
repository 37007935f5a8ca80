"""No stack file makes `airstack validate` crash, hang or exit with anything but 0, 1 or 2.

Generated files go through the command itself (`airstack.cli.main(["validate", path])`) on a real file:
random YAML-ish text, random YAML structures, the real stack files mutated, and random text in every field.
``AIRSTACK_FUZZ_EXAMPLES`` raises the number of examples for a longer run (see benchmarks/RESULTS.txt).
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import signal
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airstack.cli import main
from airstack.stackfile import STACK_NAMES, read_stack_file

EXAMPLES = int(os.environ.get("AIRSTACK_FUZZ_EXAMPLES", "60"))
HANG_SECONDS = 10
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=3),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("AIRSTACK_FUZZ_EXAMPLES") is None,
)
REAL = {stack: read_stack_file(stack).path.read_text() for stack in STACK_NAMES}
DECODED = {stack: read_stack_file(stack).decoded for stack in STACK_NAMES}


@contextlib.contextmanager
def watchdog(seconds: int) -> Iterator[None]:
    """Turn a hang into a failure: SIGALRM interrupts whatever Python code is running."""

    def hang(*_: Any) -> None:
        raise TimeoutError(f"validate ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def validate_file(content: str | bytes, stack: str = "dev") -> int:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"Pulumi.{stack}.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        out, err = io.StringIO(), io.StringIO()
        with watchdog(HANG_SECONDS), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", str(path)])
    assert code in (0, 1, 2), err.getvalue()
    assert "Traceback" not in err.getvalue()
    if code == 2:
        assert "is not a valid airstack stack configuration" in err.getvalue().splitlines()[0]
    return code


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """The first validation imports the program's modules; keep that out of the per-example deadline."""
    validate_file(REAL["dev"])


# ------------------------------------------------------------------------------------------- strategies

YAML_TOKENS = [
    "config:", "airstack:", "aws:region", "airstack:teams", "secure:", "<<:", "&a", "*a", "- ", ": ", "---",
    "!!str", "!!int", "!ref", "{", "}", "[", "]", ",", "'", '"', "#", "|", ">", "?", "~", "\n", "\n  ", "\t",
    "0777", "1e999", ".nan", "yes", "07:00", "2024-01-02", "\\u00e9", "\x00", "\ud800", "é", "💥",
]  # fmt: skip
yaml_ish_text = st.lists(st.sampled_from(YAML_TOKENS) | st.text(max_size=6), max_size=60).map("".join)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["dev", "prod", "eu-west-1", "16", "16.6", "10.0.0.0/16", "8h", "latest", "Z1", "x" * 70])
)
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
config_keys = st.sampled_from(
    [*DECODED["prod"], "airstack:deployment", "aws:defaultTags", "aws:profile", "airstak:logs", "other:key"]
) | st.text(max_size=20)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths(v, (*prefix, i))
    return found


def dump(values: dict[str, Any]) -> str:
    return yaml.safe_dump({"config": values}, allow_unicode=True, sort_keys=False)


@st.composite
def mutated_stack_files(draw: st.DrawFn) -> tuple[str, str]:
    stack = draw(st.sampled_from(STACK_NAMES))
    values = copy.deepcopy(DECODED[stack])
    for _ in range(draw(st.integers(1, 4))):
        where = paths(values)
        path = draw(st.sampled_from(where))
        target: Any = values
        for part in path[:-1]:
            target = target[part]
        action = draw(st.sampled_from(["replace", "delete", "text"]))
        if action == "delete" and isinstance(target, dict):
            target.pop(path[-1], None)
        elif action == "text":
            target[path[-1]] = draw(st.text(max_size=40))
        else:
            target[path[-1]] = draw(json_like)
    return stack, dump(values)


@st.composite
def text_in_every_field(draw: st.DrawFn) -> tuple[str, str]:
    stack = draw(st.sampled_from(STACK_NAMES))
    values = copy.deepcopy(DECODED[stack])
    for path in paths(values):
        target: Any = values
        for part in path[:-1]:
            target = target[part]
        if not isinstance(target[path[-1]], dict | list) and draw(st.booleans()):
            target[path[-1]] = draw(st.text(max_size=20) | st.from_regex(r"[a-z0-9-]{0,40}", fullmatch=True))
    return stack, dump(values)


@st.composite
def edited_text(draw: st.DrawFn) -> tuple[str, str]:
    stack = draw(st.sampled_from(STACK_NAMES))
    lines = REAL[stack].splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 5))):
        index = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["drop", "repeat", "insert", "indent"]))
        if edit == "drop":
            del lines[index]
        elif edit == "repeat":
            lines.insert(index, lines[index])
        elif edit == "insert":
            column = draw(st.integers(0, len(lines[index])))
            lines[index] = lines[index][:column] + draw(yaml_ish_text) + lines[index][column:]
        else:
            lines[index] = "  " + lines[index]
        if not lines:
            break
    return stack, "".join(lines)


# ---------------------------------------------------------------------------------------------- tests


@FUZZ
@given(text=yaml_ish_text)
def test_yaml_ish_text(text: str) -> None:
    validate_file(text)


@FUZZ
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-16")))
def test_bytes(content: bytes) -> None:
    validate_file(content)


@FUZZ
@given(document=st.dictionaries(config_keys, json_like, max_size=8) | json_like)
def test_yaml_structures(document: Any) -> None:
    body = {"config": document} if isinstance(document, dict) else document
    validate_file(yaml.safe_dump(body, allow_unicode=True))


@FUZZ
@given(case=mutated_stack_files())
def test_mutated_stack_files(case: tuple[str, str]) -> None:
    validate_file(case[1], case[0])


@FUZZ
@given(case=text_in_every_field())
def test_random_text_in_every_field(case: tuple[str, str]) -> None:
    validate_file(case[1], case[0])


@FUZZ
@given(case=edited_text())
def test_edited_stack_files(case: tuple[str, str]) -> None:
    validate_file(case[1], case[0])


@FUZZ
@given(stack=st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and "\x00" not in s and s not in ".."))
def test_any_stack_name(stack: str) -> None:
    with contextlib.suppress(OSError):  # the file system may refuse the name itself (too long)
        validate_file(REAL["dev"], stack)


def test_the_real_stack_files_pass() -> None:
    for stack in STACK_NAMES:
        assert validate_file(REAL[stack], stack) == 0
