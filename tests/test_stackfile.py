"""Reading Pulumi.<stack>.yaml the way the Pulumi CLI (Go's yaml.v3) reads it and hands it to the program."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from airstack.stackfile import MAX_FILE_BYTES, read_stack_file, resolve
from airstack.stackfile.goyaml import MAX_DEPTH, MAX_VALUES, InvalidYamlError, read_yaml
from components.config import ConfigError


def write(tmp_path: Path, text: str | bytes, name: str = "Pulumi.sandbox.yaml") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def file_problems(path: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        read_stack_file(path)
    return [p.render() for p in caught.value.problems]


def test_stack_names_and_paths(tmp_path: Path) -> None:
    assert resolve("prod").name == "Pulumi.prod.yaml"
    assert resolve(str(tmp_path / "Pulumi.x.yaml")) == tmp_path / "Pulumi.x.yaml"


def test_values_are_encoded_as_the_cli_does(tmp_path: Path) -> None:
    stack = read_stack_file(
        write(
            tmp_path,
            "config:\n  aws:region: eu-west-1\n  airstack:network:\n    cidr: 10.0.0.0/16\n    azCount: 2\n"
            "  environment: dev\n  other:flag: true\n  aws:config:profile: ops\n  airstack:empty:\n"
            "  airstack:sizes: {cpu: 1024.0, ratio: 1.5, big: 1e3}\n",
        )
    )
    assert stack.stack == "sandbox"
    # Go's encoding/json: sorted keys, no spaces, whole floats written as integers.
    assert stack.config["airstack:network"] == '{"azCount":2,"cidr":"10.0.0.0/16"}'
    assert stack.config["airstack:sizes"] == '{"big":1000,"cpu":1024,"ratio":1.5}'
    assert stack.config["airstack:environment"] == "dev"  # a bare key is in the project's namespace
    assert stack.config["aws:profile"] == "ops"  # the old `ns:config:name` form
    assert stack.config["other:flag"] == "true"
    assert stack.config["airstack:empty"] == ""  # the CLI reads a key with no value as empty text
    assert stack.decoded["airstack:network"]["azCount"] == 2


@pytest.mark.parametrize(
    ("written", "go_value"),
    [
        ("yes", "yes"),  # YAML 1.2: text, where PyYAML's YAML 1.1 says True
        ("on", "on"),
        ("True", True),
        ("07:00", "07:00"),  # not 420 (base 60)
        ("0777", 511),  # yaml.v3 keeps 1.1 octals
        ("0o17", 15),
        ("0x1F", 31),
        ("08", 8.0),
        ("1_000", 1000),
        ("+12", 12),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("1e999", "1e999"),  # Go's ParseFloat fails on overflow: the value stays text
        ("99999999999999999999999", 1e23),
        ("~", None),
        ("Null", None),
        ("2024-01-02", "2024-01-02 00:00:00 +0000 UTC"),  # a time, passed on as Go's Time.String()
        ("2024-02-31", "2024-02-31"),
        ('"25"', "25"),
        ("'0777'", "0777"),
        ("!!str 25", "25"),
        ("!!float 2", 2.0),
        ("|\n  a\n  b", "a\nb"),
        ("-x", "-x"),
        ("<<", "<<"),
    ],
)
def test_scalars_resolve_as_in_go_yaml_v3(written: str, go_value: Any) -> None:
    assert read_yaml(f"k: {written}") == ({"k": go_value}, [])


def test_merge_keys_and_aliases(tmp_path: Path) -> None:
    document, _ = read_yaml(
        "small: &small {cpu: 512, memory: 1024, architecture: ARM64}\n"
        "big: &big {cpu: 2048, memory: 4096}\n"
        "a:\n  <<: *small\n  memory: 2048\n"  # an explicit key wins over a merged one
        "b:\n  <<: [*big, *small]\n"  # the first mapping listed wins
        "c: *small\n"
    )
    assert document["a"] == {"cpu": 512, "memory": 2048, "architecture": "ARM64"}
    assert document["b"] == {"cpu": 2048, "memory": 4096, "architecture": "ARM64"}
    assert document["c"] == document["small"]


def test_duplicate_keys_are_refused_as_the_cli_does(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "config:\n  airstack:logs:\n    retentionDays: 7\n    retentionDays: 14\n"
        "  aws:region: eu-west-1\n  'aws:region': eu-west-2\n",
    )
    assert file_problems(path) == [
        'file = Pulumi.sandbox.yaml: line 4: mapping key "retentionDays" already defined at line 3 (the Pulumi CLI '
        "refuses it)",
        'file = Pulumi.sandbox.yaml: line 6: mapping key "aws:region" already defined at line 5 (the Pulumi CLI '
        "refuses it)",
    ]


def test_a_key_set_twice_through_the_project_namespace(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  environment: dev\n  airstack:environment: prod\n")
    assert file_problems(path) == ["airstack:environment = prod: airstack:environment is set twice in this file"]


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["config:", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    started = time.perf_counter()
    [problem] = file_problems(path)
    assert time.perf_counter() - started < 2
    assert f"the file expands to more than {MAX_VALUES:,} values" in problem


def test_aliases_that_expand_modestly_are_fine() -> None:
    document, _ = read_yaml("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n")
    assert document["b"] == [[1, 2, 3]] * 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a [*a]", "the alias *a is inside its own anchor"),
        ("a: *nowhere", "unknown anchor 'nowhere' referenced"),
        ("a: !!python/object:os.system x", "the YAML tag tag:yaml.org,2002:python/object:os.system has no meaning"),
        ("a: !Ref x", "the YAML tag !Ref has no meaning in a stack file"),
        ("a: !!int abc", "cannot read 'abc' as !!int"),
        ("a: 1\n---\nb: 2", "a stack file is one YAML document"),
        ("[1, 2]: x", "the key [1, 2] is not text: quote it"),
        ("1: x", "the key 1 is not text: quote it"),
        ("a: <<: x", "not valid YAML"),
        ("a: [1, 2", "not valid YAML"),
        ("a: b\n\tc: d", "not valid YAML"),
        ("a: \x00", "not valid YAML"),
        ("a:\n  <<: [1]", "a merge key (<<) takes a mapping or a list of mappings"),
    ],
)
def test_yaml_that_the_cli_refuses_or_that_means_nothing_here(text: str, message: str) -> None:
    with pytest.raises(InvalidYamlError, match=re.escape(message)):
        read_yaml(text)


@pytest.mark.parametrize(("depth", "message"), [(100, f"nested more than {MAX_DEPTH} levels deep"), (50_000, "nest")])
def test_deep_nesting_is_bounded_not_a_recursion_error(tmp_path: Path, depth: int, message: str) -> None:
    path = write(tmp_path, "config:\n  airstack:x: " + "[" * depth + "]" * depth + "\n")
    [problem] = file_problems(path)
    assert message in problem


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("Pulumi.bad.yaml", "config: [1, 2", "not valid YAML"),
        ("Pulumi.bad.yaml", "config: 3\n", "the file needs a `config:` mapping"),
        ("Pulumi.bad.yaml", "- config\n", "a stack file is a mapping with a `config:` key"),
        ("Pulumi.bad.yaml", "conifg:\n  aws:region: eu-west-1\n", "not a stack file key; use config, secretsprovider"),
        ("Pulumi.bad.yaml", "config:\n  a:b:c: x\n", "not a config key; write <namespace>:<name>"),
        ("Pulumi.bad.yaml", "config:\n  airstack:x: .nan\n", "NaN and infinity cannot be passed to a program"),
        ("Pulumi.bad.yaml", b"config:\n  aws:region: eu-\xe9west-1\n", "not UTF-8 text (line 2, byte 25)"),
        ("Pulumi.bad.yaml", b"\xff\xfec\x00o\x00", "not UTF-8 text (line 1, byte 0)"),
        ("Pulumi.bad.yaml", b"x" * (MAX_FILE_BYTES + 1), f"larger than {MAX_FILE_BYTES:,} bytes"),
        ("stack.yaml", "config: {}\n", "a stack file is named Pulumi.<stack>.yaml"),
    ],
)
def test_unreadable_files_are_config_errors(tmp_path: Path, name: str, content: str | bytes, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_stack_file(write(tmp_path, content, name))
    assert message in str(caught.value)


def test_a_byte_order_mark_is_ignored_as_the_cli_does(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbfconfig:\n  aws:region: eu-west-1\n")
    assert read_stack_file(path).config == {"aws:region": "eu-west-1"}


def test_a_file_that_cannot_be_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "config: {}\n")

    def refuse(*_: Any, **__: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    assert file_problems(path) == ["file = Pulumi.sandbox.yaml: cannot be read: Permission denied"]


def test_secure_values_are_placeholders_with_their_exact_paths(tmp_path: Path) -> None:
    stack = read_stack_file(
        write(
            tmp_path,
            "config:\n  airstack:alerting:\n    emails: [a@example.com]\n    webhookUrl:\n      secure: v1:abc==\n"
            "  aws:secretKey:\n    secure: v1:def==\n  airstack:odd:\n    secure: 5\n",
        )
    )
    assert stack.secret_paths == {"airstack:alerting.webhookUrl", "aws:secretKey"}
    assert stack.secret_keys == {"airstack:alerting", "aws:secretKey"}
    assert stack.decoded["airstack:alerting"]["webhookUrl"].startswith("offline-secret-")
    assert stack.config["airstack:odd"] == json.dumps({"secure": 5}, separators=(",", ":"))  # not a ciphertext
