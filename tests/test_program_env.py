"""A program's own requirements: what is checked here, what is installed, and the pack's view of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from airstack.program_config import ProgramConfigError, assemble, full_key, parse_assignments, project_defaults
from airstack.program_env import EnvironmentProblem, _poetry_spec, program_requirements
from airstack.stackfile import StackFile


def test_requirements_this_environment_satisfies_need_no_environment(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("pulumi>=3.0.0,<4.0.0\npulumi-aws>=7,<8  # the provider\n\n# c\n")
    requirements = program_requirements(tmp_path)
    assert requirements.satisfied
    assert requirements.declared == ("pulumi>=3.0.0,<4.0.0", "pulumi-aws>=7,<8")


def test_missing_paths_urls_and_versions_are_installed(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "requirements.txt").write_text(
        "--index-url https://pypi.example.org/simple\n"
        "pulumi-aws<6\n"
        "some-package-airstack-does-not-have==1.2\n"
        "./lib\n"
        "-e ./lib\n"
        "pulumi>=3\n"
        "colorama; sys_platform == 'win32'\n"
    )
    requirements = program_requirements(tmp_path, extra=["pyyaml"])
    assert requirements.needed == ("pulumi-aws<6", "some-package-airstack-does-not-have==1.2",
                                   str((tmp_path / "lib").resolve()), "-e", str(tmp_path / "lib"))  # fmt: skip
    assert requirements.options == ("--index-url", "https://pypi.example.org/simple")
    assert not requirements.satisfied


def test_pyproject_dependencies_pep621_and_poetry(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "infra"\ndependencies = ["pulumi>=3", "nonexistent-pkg-xyz>=1"]\n'
        '[tool.poetry.dependencies]\npython = "^3.11"\nanother-missing-pkg = "^1.4.2"\n'
    )
    requirements = program_requirements(tmp_path)
    assert requirements.needed == ("nonexistent-pkg-xyz>=1", "another-missing-pkg>=1.4.2,<2")


@pytest.mark.parametrize(
    ("spec", "line"),
    [("^1.4.2", "p>=1.4.2,<2"), ("^0.3.1", "p>=0.3.1,<0.4"), ("~1.4", "p>=1.4,<1.5"), ("*", "p"),
     (">=2,<3", "p>=2,<3"), ("2.0.1", "p==2.0.1"), ({"version": "^2.1"}, "p>=2.1,<3")],
)  # fmt: skip
def test_poetry_specs_become_requirements(spec: object, line: str) -> None:
    assert _poetry_spec("p", spec) == line


def test_an_unreadable_pyproject_is_reported(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\n")
    with pytest.raises(EnvironmentProblem, match="cannot be read"):
        program_requirements(tmp_path)


# ----------------------------------------------------------------------------------------------- config


def stack(tmp_path: Path, config: dict[str, str], secret: frozenset[str] = frozenset()) -> StackFile:
    return StackFile(path=tmp_path / "Pulumi.dev.yaml", stack="dev", config=config, secret_keys=secret)


def test_config_as_the_cli_assembles_it(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(
        "name: shop\nruntime: python\nconfig:\n  size: {type: integer, default: 2}\n  aws:region: eu-west-1\n"
        "  tags: {value: {a: b}}\n  declared: {type: string}\n"
    )
    assert project_defaults(tmp_path, "shop") == {
        "shop:size": "2",
        "aws:region": "eu-west-1",
        "shop:tags": '{"a": "b"}',
    }
    assembled = assemble(stack(tmp_path, {"shop:size": "3", "shop:password": "x"}, frozenset({"shop:password"})),
                         tmp_path, "shop", parse_assignments(["password=plain", "aws:region=us-east-1", "url=a=b"]))  # fmt: skip
    assert assembled.config == {"shop:size": "3", "aws:region": "us-east-1", "shop:tags": '{"a": "b"}',
                                "shop:password": "plain", "shop:url": "a=b"}  # fmt: skip
    assert assembled.secret_keys == frozenset(), "`pulumi config set` without --secret makes it plain"
    assert full_key("aws:region", "shop") == "aws:region"


def test_config_paths_set_fields_inside_structured_values_as_the_cli_does(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: shop\nruntime: python\n")
    base = stack(tmp_path, {"shop:dr": '{"role": "standby", "active": false}', "shop:teams": '[{"name": "a"}]'})
    assembled = assemble(base, tmp_path, "shop", parse_assignments([
        "dr.active=true", "teams[0].concurrency=8", "teams[1].name=b", "dr.restore.window=7", 'tags["cost.center"]=cc-1', "aws:region=x",
    ]), path=True)  # fmt: skip
    decoded = assembled.decoded
    assert decoded["shop:dr"] == {"role": "standby", "active": True, "restore": {"window": 7}}, (
        "true is a boolean, the rest kept"
    )
    assert decoded["shop:teams"] == [{"name": "a", "concurrency": 8}, {"name": "b"}]
    assert decoded["shop:tags"] == {"cost.center": "cc-1"}
    assert decoded["aws:region"] == "x"


@pytest.mark.parametrize(
    ("key", "message"),
    [("teams[5].name", "past the list's end"), ("dr[0]", "steps into a map"), ("dr.role.x", "steps into a plain"),
     ("dr..x", "cannot read the path"), (".x", "write the key as")],
)  # fmt: skip
def test_a_config_path_that_cannot_be_set_is_refused_by_name(tmp_path: Path, key: str, message: str) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: shop\nruntime: python\n")
    base = stack(tmp_path, {"shop:dr": '{"role": "standby"}', "shop:teams": '[{"name": "a"}]'})
    with pytest.raises(ProgramConfigError, match=message):
        assemble(base, tmp_path, "shop", parse_assignments([f"{key}=1"]), path=True)
