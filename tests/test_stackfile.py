"""Reading Pulumi.<stack>.yaml the way the Pulumi CLI hands it to the program."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airstack.stackfile import read_stack_file, resolve
from components.config import ConfigError


def test_stack_names_and_paths(tmp_path: Path) -> None:
    assert resolve("prod").name == "Pulumi.prod.yaml"
    assert resolve(str(tmp_path / "Pulumi.x.yaml")) == tmp_path / "Pulumi.x.yaml"


def test_values_are_encoded_as_the_cli_does(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.sandbox.yaml"
    path.write_text(
        "config:\n  aws:region: eu-west-1\n  airstack:network:\n    cidr: 10.0.0.0/16\n    azCount: 2\n"
        "  airstack:environment:\n    value: dev\n  other:flag: true\n"
    )
    stack = read_stack_file(str(path))
    assert stack.stack == "sandbox"
    assert stack.config["airstack:network"] == json.dumps({"cidr": "10.0.0.0/16", "azCount": 2})
    assert stack.config["airstack:environment"] == "dev"  # the long form `{value: ...}`
    assert stack.config["other:flag"] == "true"
    assert stack.decoded["airstack:network"]["azCount"] == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("Pulumi.bad.yaml", "config: [1, 2", "not valid YAML"),
        ("Pulumi.bad.yaml", "config: 3\n", "the file needs a `config:` mapping"),
        ("stack.yaml", "config: {}\n", "a stack file is named Pulumi.<stack>.yaml"),
    ],
)
def test_unreadable_files_are_config_errors(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError, match="1 problem") as caught:
        read_stack_file(str(path))
    assert message in str(caught.value)
