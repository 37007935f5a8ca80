"""Both ways a stack file is judged agree: `airstack validate` reading the file, and the program under the CLI.

Under `pulumi up` the language host puts the config in ``PULUMI_CONFIG`` (every value a string, as Go's
yaml.v3 and encoding/json made it) and the secret keys in ``PULUMI_CONFIG_SECRET_KEYS``; the exec script hands
both to ``pulumi.runtime.set_all_config`` before the program runs. These tests do the same and then call
``components.stack_config.current_stack_config()`` as ``__main__.py`` does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import config as runtime_config

from airstack.mocks import AwsMocks
from airstack.stackfile import STACK_NAMES, StackFile, read_stack_file
from components.config import ConfigError, StackConfig
from components.stack_config import current_stack_config


@pytest.fixture
def under_the_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    loop = asyncio.new_event_loop()  # as the language host has one: the SDK builds futures at once
    asyncio.set_event_loop(loop)

    def run(stack_file: StackFile, decrypted: dict[str, str] | None = None) -> StackConfig:
        config = {**stack_file.config, **(decrypted or {})}
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
        monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(sorted(stack_file.secret_keys)))
        # What pulumi-language-python-exec does before it runs __main__.py:
        runtime_config.set_all_config(runtime_config.get_config_env(), runtime_config.get_config_secret_keys_env())
        pulumi.runtime.set_mocks(AwsMocks(stack_file.config.get("aws:region", "us-east-1")), "airstack",
                                 stack_file.stack, preview=True)  # fmt: skip
        return current_stack_config()

    yield run
    runtime_config.set_all_config({}, [])
    asyncio.set_event_loop(None)
    loop.close()


def file_in(tmp_path: Path, stack: str, old: str = "", new: str = "") -> StackFile:
    text = read_stack_file(stack).path.read_text()
    assert old in text
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(text.replace(old, new, 1))
    return read_stack_file(str(path))


def outcome(load: object) -> object:
    try:
        return load()  # type: ignore[operator]
    except ConfigError as error:
        return sorted(p.key for p in error.problems)


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_real_stack_is_the_same_config_both_ways(stack: str, under_the_cli) -> None:
    stack_file = read_stack_file(stack)
    assert under_the_cli(stack_file) == stack_file.load()


def test_what_go_hands_over_for_numbers_and_booleans(tmp_path: Path) -> None:
    # yaml.v3 reads 20.0 and 2e1 as float64(20) and `no` as the text "no"; encoding/json writes float64(20) as 20.
    stack_file = file_in(
        tmp_path, "dev", "    allocatedStorageGb: 20\n    multiAz: false\n",
        "    allocatedStorageGb: 20.0\n    multiAz: false\n    maxAllocatedStorageGb: 2.5e1\n",
    )  # fmt: skip
    metastore = json.loads(stack_file.config["airstack:metastore"])
    assert stack_file.config["airstack:metastore"].startswith('{"allocatedStorageGb":20,"backupRetentionDays":3,"')
    assert (metastore["allocatedStorageGb"], metastore["maxAllocatedStorageGb"]) == (20, 25)


CASES = [
    ("a whole float is a number", "    allocatedStorageGb: 20\n", "    allocatedStorageGb: 20.0\n", None),
    (
        "a quoted margin",
        "    visibilityMarginPercent: 25\n",
        '    visibilityMarginPercent: "25"\n',
        ["airstack:broker.visibilityMarginPercent"],
    ),
    ("yes is text", "    multiAz: false\n", "    multiAz: no\n", ["airstack:metastore.multiAz"]),
    ("a secure tag", "    Owner: data-platform\n", "    Owner:\n      secure: v1:abc==\n", ["airstack:tags"]),
    ("an unknown namespace", "  airstack:logs:\n", "  airstak:logs:\n", ["airstak:logs"]),
]


@pytest.mark.parametrize(("case", "old", "new", "problems"), CASES, ids=[c[0] for c in CASES])
def test_both_ways_agree(
    case: str, old: str, new: str, problems: list[str] | None, tmp_path: Path, under_the_cli
) -> None:
    stack_file = file_in(tmp_path, "dev", old, new)
    by_file, at_runtime = outcome(stack_file.load), outcome(lambda: under_the_cli(stack_file))
    if problems is None:
        assert by_file == at_runtime
        assert isinstance(by_file, StackConfig)
    else:
        for found in (by_file, at_runtime):
            assert isinstance(found, list)
            assert all(any(key.startswith(p) for key in found) for p in problems), found


def test_a_secret_webhook_is_accepted_both_ways(tmp_path: Path, under_the_cli) -> None:
    stack_file = file_in(
        tmp_path, "prod", "    emails: [data-platform-oncall@example.com]\n",
        "    emails: [data-platform-oncall@example.com]\n    webhookUrl:\n      secure: v1:abc==\n",
    )  # fmt: skip
    assert stack_file.load().alerting.webhook_url is not None
    decrypted = json.loads(stack_file.config["airstack:alerting"])
    decrypted["webhookUrl"] = "https://hooks.example.com/T0/B0/token"
    config = under_the_cli(stack_file, {"airstack:alerting": json.dumps(decrypted)})
    assert config.alerting.webhook_url == "https://hooks.example.com/T0/B0/token"


def test_the_runtime_knows_secrets_only_by_key(tmp_path: Path, under_the_cli) -> None:
    """The CLI marks a whole key secret when any value under it is: only the file shows the plain webhook."""
    stack_file = file_in(
        tmp_path, "prod", "    emails: [data-platform-oncall@example.com]\n",
        "    emails:\n      - secure: v1:abc==\n    webhookUrl: https://hooks.example.com/T0/B0/token\n",
    )  # fmt: skip
    assert "airstack:alerting.webhookUrl" in outcome(stack_file.load)  # type: ignore[operator]
    decrypted = json.loads(stack_file.config["airstack:alerting"])
    decrypted["emails"] = ["oncall@example.com"]
    assert isinstance(under_the_cli(stack_file, {"airstack:alerting": json.dumps(decrypted)}), StackConfig)
