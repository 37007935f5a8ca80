"""The deployment function's pure parts on their own: the archive reader under fuzzing, pruning, settings."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from lambdas.dag_sync import archive, releases
from lambdas.dag_sync import handler as dag_sync
from tests.dag_zips import BAD_ARCHIVES, files_of, release, zip_of

GOOD_ENV = {"AIRSTACK_ARTIFACTS_BUCKET": "artifacts", "AIRSTACK_DAG_TEAMS": '{"ml": "ml"}'}


def test_mangled_archives_are_rejected_or_unpacked_safely(tmp_path: Path) -> None:
    """Random damage to good and bad archives: the reader says ``Rejected`` or yields a tree of plain files
    inside the destination, never anything else (seeded, so a failure reproduces)."""
    rng = random.Random(13)
    limits = archive.Limits(max_files=50, max_unpacked_bytes=10**6, max_archive_bytes=10**6)
    seeds = [zip_of(files_of("x", 5)), zip_of({"a.py": b"x" * 5000}, compression=0)]
    seeds += [make() for make, _ in BAD_ARCHIVES.values()]
    outcomes: dict[str, int] = {}
    for i in range(1500):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            if not data:
                break
            at = rng.randrange(len(data))
            if rng.random() < 0.7:
                data[at] = rng.randrange(256)
            else:
                del data[at : at + rng.randint(1, 16)]
        try:
            manifest = archive.inspect(bytes(data), limits)
        except archive.Rejected as rejection:
            outcomes[rejection.reason.value] = outcomes.get(rejection.reason.value, 0) + 1
            continue
        destination = tmp_path / str(i)
        archive.extract(bytes(data), manifest, destination)
        for path in destination.rglob("*"):
            assert not path.is_symlink(), path
            assert path.is_file() or path.is_dir(), path
            assert path.resolve().is_relative_to(destination.resolve()), path
        outcomes["unpacked"] = outcomes.get("unpacked", 0) + 1

    assert {"unpacked", "corrupt-archive", "unsafe-path"} <= set(outcomes), outcomes


def test_pruning_never_removes_the_current_release(tmp_path: Path) -> None:
    names = [release(i) for i in range(1, 6)]
    with releases.locked(tmp_path):
        for name in names:
            releases.publish(tmp_path, name, lambda d: d.mkdir())
        releases.switch(tmp_path, names[0])
        (tmp_path / releases.RELEASES / f"{releases.STAGING_PREFIX}left-over").mkdir()

        removed = releases.prune(tmp_path, keep=2)

    assert sorted(removed) == sorted([names[1], names[2], f"{releases.STAGING_PREFIX}left-over"])
    assert sorted(p.name for p in (tmp_path / releases.RELEASES).iterdir()) == [".lock", names[0], names[3], names[4]]


def test_a_team_list_means_directories_named_after_teams() -> None:
    settings = dag_sync.Settings.from_env({"AIRSTACK_ARTIFACTS_BUCKET": "b", "AIRSTACK_DAG_TEAMS": '["ml", "bi"]'})

    assert dict(settings.teams) == {"ml": "ml", "bi": "bi"}
    assert (settings.root, settings.keep, settings.limits.max_files) == (Path("/mnt/dags"), 5, 2000)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"AIRSTACK_DAG_TEAMS": ""}, "AIRSTACK_DAG_TEAMS must be a non-empty JSON object"),
        ({"AIRSTACK_DAG_TEAMS": "{nope"}, "AIRSTACK_DAG_TEAMS is not JSON"),
        ({"AIRSTACK_DAG_TEAMS": '{"ml": "../x"}'}, "team 'ml' has directory '../x', not a plain name"),
        ({"AIRSTACK_DAG_TEAMS": '["ml", "Bad Team"]'}, "'Bad Team' is not a team name"),
        ({"AIRSTACK_DAG_TEAMS": '{"ab": "xy", "cd": "xy"}'}, "two teams share a directory"),
        ({"AIRSTACK_ARTIFACTS_BUCKET": ""}, "AIRSTACK_ARTIFACTS_BUCKET is not set"),
        ({"AIRSTACK_DAG_KEEP_RELEASES": "0"}, "AIRSTACK_DAG_KEEP_RELEASES must be a positive integer, got '0'"),
        ({"AIRSTACK_DAG_MAX_FILES": "many"}, "AIRSTACK_DAG_MAX_FILES must be a positive integer, got 'many'"),
        ({"AIRSTACK_DAGS_ROOT": "mnt/dags"}, "AIRSTACK_DAGS_ROOT must be an absolute path"),
    ],
)
def test_a_bad_environment_is_refused_with_its_problem(changes: dict[str, str], message: str) -> None:
    with pytest.raises(dag_sync.ConfigError, match=re.escape(message)):
        dag_sync.Settings.from_env(GOOD_ENV | changes)


def test_every_problem_of_the_environment_at_once() -> None:
    with pytest.raises(dag_sync.ConfigError) as error:
        dag_sync.Settings.from_env({"AIRSTACK_DAG_KEEP_RELEASES": "-1"})

    assert str(error.value) == (
        "AIRSTACK_ARTIFACTS_BUCKET is not set; AIRSTACK_DAG_TEAMS must be a non-empty JSON object (team -> "
        "directory) or list of teams; AIRSTACK_DAG_KEEP_RELEASES must be a positive integer, got '-1'"
    )
