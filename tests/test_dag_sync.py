"""The DAG deployment function, run through its Lambda entry point against moto's S3 and a temporary DAG root."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.dag_sync import handler as dag_sync
from lambdas.dag_sync import releases
from tests.dag_zips import BAD_ARCHIVES, TEST_LIMITS, files_of, release, s3_event, zip_of

BUCKET = "airstack-test-artifacts"
TEAMS = ("analytics", "ml", "reporting")


class Deployer:
    """Uploads archives to the artifacts bucket and delivers their events to the handler, as S3 would."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str], s3: Any) -> None:
        self.root = root
        self.capsys = capsys
        self.s3 = s3

    def upload(self, key: str, data: bytes) -> dict[str, Any]:
        response = self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return s3_event(BUCKET, key, len(data), response.get("VersionId"))

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        result = dag_sync.handler(event, None)
        assert len(result["results"]) == len(event["Records"])
        return result["results"][0]

    def deploy(self, team: str, name: str, data: bytes) -> dict[str, Any]:
        return self.deliver(self.upload(f"dags/{team}/{name}.zip", data))

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.capsys.readouterr().out.splitlines() if line.startswith("{")]

    def current(self, team: str) -> str | None:
        return releases.current_release(self.root / team)


@pytest.fixture(scope="module")
def artifacts() -> Iterator[Any]:
    """One moto S3 for the module (starting moto costs more than a test); each object's version is its own."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            patch.setenv(name, value)
        with mock_aws():
            s3 = boto3.client("s3", region_name="eu-west-1")
            s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
            s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
            yield s3


@pytest.fixture
def deployer(
    artifacts: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Deployer:
    root = tmp_path / "dags"
    root.mkdir()
    for name, value in {
        "AIRSTACK_DAGS_ROOT": str(root),
        "AIRSTACK_ARTIFACTS_BUCKET": BUCKET,
        "AIRSTACK_DAG_TEAMS": json.dumps({team: team for team in TEAMS}),
        "AIRSTACK_DAG_KEEP_RELEASES": "3",
        **TEST_LIMITS,
    }.items():
        monkeypatch.setenv(name, value)
    return Deployer(root, capsys, artifacts)


def snapshot(root: Path, *, directory_times: bool = True) -> dict[str, tuple[Any, ...]]:
    """Everything a write could change: each entry's type, content or link target, inode and mtime."""
    state: dict[str, tuple[Any, ...]] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            info = path.lstat()
            if path.is_symlink():
                state[str(path.relative_to(root))] = ("link", os.readlink(path), info.st_ino, info.st_mtime_ns)
            elif path.is_dir():
                mtime = info.st_mtime_ns if directory_times else None
                state[str(path.relative_to(root))] = ("dir", info.st_mode, info.st_ino, mtime)
            else:
                state[str(path.relative_to(root))] = ("file", path.read_bytes(), info.st_mode, info.st_ino)
    return state


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(Path(d, f).relative_to(directory)): Path(d, f).read_bytes()
        for d, _, files in os.walk(directory)
        for f in files
    }


# ---------------------------------------------------------------------------------------------- success


def test_a_release_becomes_current_with_readable_files(deployer: Deployer) -> None:
    name = release(1)
    outcome = deployer.deploy("analytics", name, zip_of(files_of(name)))

    assert outcome["status"] == "deployed"
    current = deployer.root / "analytics" / "current"
    assert os.readlink(current) == f".releases/{name}"  # relative: resolves under any mount path
    assert tree(current) == files_of(name)
    for directory, _, files in os.walk(current):
        assert Path(directory).stat().st_mode & 0o777 == 0o755
        assert all(Path(directory, f).stat().st_mode & 0o777 == 0o644 for f in files)
    assert sorted(p.name for p in (deployer.root / "analytics" / ".releases").iterdir()) == [".lock", name]


def test_a_newer_release_replaces_the_current_one(deployer: Deployer) -> None:
    first, second = release(1), release(2)
    deployer.deploy("analytics", first, zip_of(files_of(first)))
    deployer.deploy("analytics", second, zip_of({"only.py": b"x = 2\n"}))

    assert deployer.current("analytics") == second
    assert tree(deployer.root / "analytics" / "current") == {"only.py": b"x = 2\n"}


def test_a_reader_never_sees_a_half_written_release(deployer: Deployer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers resolve ``current`` while releases of 200 files each are deployed one after the other."""
    monkeypatch.setenv("AIRSTACK_DAG_KEEP_RELEASES", "10")  # a slow reader's release must not be pruned
    monkeypatch.setenv("AIRSTACK_DAG_MAX_FILES", "1000")
    monkeypatch.setenv("AIRSTACK_DAG_MAX_ARCHIVE_BYTES", str(10**6))
    names = [release(i) for i in range(1, 7)]
    expected = {name: files_of(name, count=200) for name in names}
    deployer.deploy("analytics", names[0], zip_of(expected[names[0]]))
    current = deployer.root / "analytics" / "current"
    seen: dict[str, int] = {}
    broken: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                target = os.readlink(current)
                name = target.removeprefix(".releases/")
                listed = set(os.listdir(current))
                if tree(deployer.root / "analytics" / target) != expected[name]:
                    broken.append(f"{name} incomplete")
                if listed not in ({p.split("/")[0] for p in files} for files in expected.values()):
                    broken.append(f"listing {sorted(listed)[:3]}... is no release's")
                seen[name] = seen.get(name, 0) + 1
            except Exception as error:  # noqa: BLE001 - any failure of a reader is a finding
                broken.append(repr(error))

    reader = threading.Thread(target=read)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # let the reader interleave with the deployment as often as possible
    reader.start()
    try:
        for name in names[1:]:
            assert deployer.deploy("analytics", name, zip_of(expected[name]))["status"] == "deployed"
    finally:
        done.set()
        reader.join()
        sys.setswitchinterval(interval)

    assert broken[:3] == []
    assert len(seen) >= 2, f"the reader saw only {seen}: the test proved nothing"
    assert deployer.current("analytics") == names[-1]


# ------------------------------------------------------------------------------------------- idempotency


def test_the_same_event_again_changes_nothing(deployer: Deployer) -> None:
    name = release(1)
    event = deployer.upload(f"dags/analytics/{name}.zip", zip_of(files_of(name)))
    deployer.deliver(event)
    before = snapshot(deployer.root)
    deployer.log_lines()

    outcome = deployer.deliver(event)

    assert outcome["status"] == "unchanged"
    assert snapshot(deployer.root) == before
    (line,) = deployer.log_lines()
    assert (line["Skipped"], line["Team"], line["Reason"]) == (1, "analytics", "unchanged")


def test_an_older_release_delivered_late_does_not_roll_back(deployer: Deployer) -> None:
    old, new = release(1), release(2)
    late = deployer.upload(f"dags/analytics/{old}.zip", zip_of(files_of(old)))
    deployer.deploy("analytics", new, zip_of(files_of(new)))
    before = snapshot(deployer.root)

    outcome = deployer.deliver(late)

    assert (outcome["status"], outcome["reason"]) == ("stale", "stale")
    assert snapshot(deployer.root) == before
    assert deployer.current("analytics") == new


def test_a_rollback_is_the_old_content_under_a_newer_name(deployer: Deployer) -> None:
    good, bad, again = release(1, "good111"), release(2, "bad2222"), release(3, "good111")
    deployer.deploy("analytics", good, zip_of({"dag.py": b"good = True\n"}))
    deployer.deploy("analytics", bad, zip_of({"dag.py": b"good = False\n"}))

    deployer.deploy("analytics", again, zip_of({"dag.py": b"good = True\n"}))

    assert deployer.current("analytics") == again
    assert tree(deployer.root / "analytics" / "current") == {"dag.py": b"good = True\n"}


def test_an_interrupted_deployment_is_finished_by_the_retry(
    deployer: Deployer, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = release(1), release(2)
    deployer.deploy("analytics", old, zip_of(files_of(old)))
    event = deployer.upload(f"dags/analytics/{new}.zip", zip_of(files_of(new)))

    def crash(team_dir: Path, name: str) -> None:
        raise OSError("EFS went away")

    with monkeypatch.context() as patch:
        patch.setattr(releases, "switch", crash)
        with pytest.raises(OSError, match="EFS went away"):
            deployer.deliver(event)  # raised, so that Lambda retries the event
    assert deployer.current("analytics") == old

    assert deployer.deliver(event)["status"] == "deployed"
    assert deployer.current("analytics") == new
    assert tree(deployer.root / "analytics" / "current") == files_of(new)


def test_a_failed_extraction_leaves_nothing_behind(deployer: Deployer, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = release(1), release(2)
    deployer.deploy("analytics", old, zip_of(files_of(old)))
    before = snapshot(deployer.root, directory_times=False)  # a staging directory came and went
    real_open = os.open

    def disk_full(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if str(path).endswith("p001.py"):
            raise OSError(28, "No space left on device")
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", disk_full)
    with pytest.raises(OSError, match="No space left"):
        deployer.deploy("analytics", new, zip_of(files_of(new)))

    assert snapshot(deployer.root, directory_times=False) == before


# ------------------------------------------------------------------------------------------- rejections


@pytest.mark.parametrize(("kind", "reason"), [(k, r) for k, (_, r) in BAD_ARCHIVES.items()], ids=list(BAD_ARCHIVES))
def test_a_bad_archive_is_rejected_without_writing(deployer: Deployer, kind: str, reason: str) -> None:
    good = release(1)
    deployer.deploy("analytics", good, zip_of(files_of(good)))
    before = snapshot(deployer.root)
    deployer.log_lines()

    outcome = deployer.deploy("analytics", release(2), BAD_ARCHIVES[kind][0]())

    assert (outcome["status"], outcome["reason"]) == ("rejected", reason)
    assert snapshot(deployer.root) == before
    assert deployer.current("analytics") == good
    (line,) = deployer.log_lines()
    assert (line["level"], line["reason"], line["team"]) == ("ERROR", reason, "analytics")
    assert (line["Rejected"], line["Team"], line["Reason"]) == (1, "analytics", reason)


@pytest.mark.parametrize(
    ("key", "reason", "team_dimension"),
    [
        ("dags/analytics.zip", "malformed-key", "-"),
        ("dags/analytics/nested/20260101T000000Z-abc.zip", "malformed-key", "-"),
        ("dags/analytics/20260101T000000Z-abc.tar.gz", "malformed-key", "-"),
        ("releases/analytics/20260101T000000Z-abc.zip", "malformed-key", "-"),
        ("dags/finance/20260101T000000Z-abc.zip", "unknown-team", "-"),
        ("dags/../analytics/20260101T000000Z-abc.zip", "malformed-key", "-"),
        ("dags/analytics/latest.zip", "bad-release-name", "analytics"),
        ("dags/analytics/..zip", "bad-release-name", "analytics"),
        ("dags/analytics/.releases.zip", "bad-release-name", "analytics"),
        ("dags/analytics/20261399T000000Z-abc.zip", "bad-release-name", "analytics"),
        ("dags/analytics/20260101T000000Z-a b.zip", "bad-release-name", "analytics"),
        ("dags/analytics/20260101T000000Z-.hidden.zip", "bad-release-name", "analytics"),
        ("dags/analytics/20260101T000000Z-abc\n.zip", "bad-release-name", "analytics"),
        ("dags/analytics\n/20260101T000000Z-abc.zip", "unknown-team", "-"),
    ],
)
def test_a_bad_key_is_rejected_without_writing(deployer: Deployer, key: str, reason: str, team_dimension: str) -> None:
    good = release(1)
    deployer.deploy("analytics", good, zip_of(files_of(good)))
    before = snapshot(deployer.root)
    deployer.log_lines()

    outcome = deployer.deliver(deployer.upload(key, zip_of(files_of("x"))))

    assert (outcome["status"], outcome["reason"]) == ("rejected", reason)
    assert snapshot(deployer.root) == before
    (line,) = deployer.log_lines()
    assert (line["Team"], line["Reason"], line["key"]) == (team_dimension, reason, key)


def test_an_event_from_another_bucket_is_rejected(deployer: Deployer) -> None:
    event = s3_event("someone-elses-bucket", f"dags/analytics/{release(1)}.zip", 100)

    outcome = deployer.deliver(event)

    assert (outcome["status"], outcome["reason"]) == ("rejected", "unexpected-bucket")
    assert snapshot(deployer.root) == {}


def test_an_archive_over_the_size_limit_is_not_even_downloaded(deployer: Deployer) -> None:
    event = s3_event(BUCKET, f"dags/analytics/{release(1)}.zip", 20_001)  # the object need not exist

    assert deployer.deliver(event)["reason"] == "too-large"


def test_events_other_than_object_created_are_ignored(deployer: Deployer) -> None:
    event = s3_event(BUCKET, f"dags/analytics/{release(1)}.zip", 100, name="ObjectRemoved:Delete")

    assert deployer.deliver(event)["status"] == "ignored"
    assert deployer.log_lines()[0]["status"] == "ignored"
    assert snapshot(deployer.root) == {}


# ------------------------------------------------------------------------------------------------- teams


def test_teams_never_touch_each_others_directories(deployer: Deployer) -> None:
    a, m = release(1, "aaaaaaa"), release(1, "bbbbbbb")
    deployer.deploy("analytics", a, zip_of(files_of(a)))
    analytics = snapshot(deployer.root / "analytics")

    deployer.deploy("ml", m, zip_of(files_of(m)))
    deployer.deploy("ml", release(2), BAD_ARCHIVES["parent traversal"][0]())
    deployer.deploy("ml", release(3), zip_of({"../analytics/current/evil.py": b""}))

    assert snapshot(deployer.root / "analytics") == analytics
    assert sorted(p.name for p in deployer.root.iterdir()) == ["analytics", "ml"]
    assert (deployer.current("analytics"), deployer.current("ml")) == (a, m)
    assert tree(deployer.root / "ml" / "current") == files_of(m)


def test_a_team_directory_other_than_its_name(deployer: Deployer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRSTACK_DAG_TEAMS", json.dumps({"ml": "data-science"}))
    name = release(1)

    deployer.deploy("ml", name, zip_of(files_of(name)))

    assert releases.current_release(deployer.root / "data-science") == name
    assert not (deployer.root / "ml").exists()


# --------------------------------------------------------------------------------------------- retention


def test_retention_keeps_the_newest_releases(deployer: Deployer) -> None:
    names = [release(i) for i in range(1, 6)]
    outcomes = [deployer.deploy("analytics", name, zip_of(files_of(name))) for name in names]

    kept = sorted(p.name for p in (deployer.root / "analytics" / ".releases").iterdir() if p.name != ".lock")
    assert kept == names[-3:]
    assert [o["removed"] for o in outcomes] == [[], [], [], [names[0]], [names[1]]]
    assert deployer.current("analytics") == names[-1]


# ----------------------------------------------------------------------------------------------- metrics


def test_every_outcome_is_one_emf_line(deployer: Deployer) -> None:
    name = release(1)
    deployer.deploy("analytics", name, zip_of(files_of(name)))
    deployer.deploy("analytics", release(2), BAD_ARCHIVES["symlink"][0]())

    deployed, rejected = deployer.log_lines()

    for line, metric, dimensions in ((deployed, "Deployed", ["Team"]), (rejected, "Rejected", ["Team", "Reason"])):
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive == {
            "Namespace": "Airstack/DagSync",
            "Dimensions": [dimensions],
            "Metrics": [{"Name": metric, "Unit": "Count"}],
        }
        assert isinstance(line["_aws"]["Timestamp"], int)
        assert line[metric] == 1
        assert all(isinstance(line[d], str) for d in dimensions)  # EMF: every dimension is a string member
    assert (deployed["status"], deployed["release"], deployed["Team"]) == ("deployed", name, "analytics")
    assert (rejected["Reason"], rejected["detail"]) == ("symlink", "link.py: symbolic link")


# -------------------------------------------------------------------------------------------- config


def test_a_bad_environment_fails_every_invocation(deployer: Deployer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRSTACK_DAG_TEAMS", "{nope")

    with pytest.raises(dag_sync.ConfigError, match="AIRSTACK_DAG_TEAMS is not JSON"):
        deployer.deliver(s3_event(BUCKET, f"dags/analytics/{release(1)}.zip", 100))


def test_a_missing_mount_is_an_error_not_a_rejection(deployer: Deployer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRSTACK_DAGS_ROOT", str(deployer.root / "not-mounted"))

    with pytest.raises(RuntimeError, match="not mounted"):
        deployer.deliver(s3_event(BUCKET, f"dags/analytics/{release(1)}.zip", 100))
