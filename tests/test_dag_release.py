"""The DAG pipeline's release step: check, build, name and upload a team's directory (moto S3, real git)."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from airstack import dag_release
from airstack.dag_release import ReleaseError, build, release_name
from lambdas.dag_sync import handler as dag_sync
from lambdas.dag_sync import releases
from lambdas.dag_sync.archive import Limits
from tests.dag_zips import s3_event

BUCKET = "airstack-test-artifacts"
TREE = {
    "__init__.py": b"",
    "daily.py": b"from airflow.sdk import dag\n",
    "sql/load.sql": b"select 1;\n",
    "config/tables.yaml": b"tables: []\n",
    ".airflowignore": b"scratch/\n",
}


def write_tree(directory: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return directory


def git(directory: Path, *args: str, when: str = "2026-03-04T05:06:07+00:00") -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    identity = ["-c", "user.name=ci", "-c", "user.email=ci@example.com", "-c", "commit.gpgsign=false"]
    return subprocess.run(
        ["git", *identity, *args], cwd=directory, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with dags/analytics committed at 2026-03-04 05:06:07 UTC."""
    git(tmp_path, "init", "-q")
    write_tree(tmp_path / "dags" / "analytics", TREE)
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "dags")
    return tmp_path


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


# ---------------------------------------------------------------------------------------------- building


def test_one_tree_gives_one_archive(tmp_path: Path) -> None:
    first = write_tree(tmp_path / "a", TREE)
    second = write_tree(tmp_path / "b", dict(reversed(TREE.items())))  # other creation order
    for path in second.rglob("*"):
        os.utime(path, (0, 1_000_000_000))
        if path.is_file():
            path.chmod(0o755)

    one, other = build("analytics", first), build("analytics", second)

    assert one.data == other.data
    assert one.digest == other.digest
    with zipfile.ZipFile(BytesIO(one.data)) as zf:
        assert zf.namelist() == sorted(TREE)
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in zf.infolist()} == {0o100644}
        assert {name: zf.read(name) for name in zf.namelist()} == TREE


def test_the_digest_is_of_the_content(tmp_path: Path) -> None:
    one = build("analytics", write_tree(tmp_path / "a", TREE))
    other = build("analytics", write_tree(tmp_path / "b", {**TREE, "daily.py": b"changed\n"}))

    assert one.digest != other.digest


def test_byte_code_caches_are_left_out(tmp_path: Path) -> None:
    directory = write_tree(
        tmp_path / "a", {**TREE, "__pycache__/daily.cpython-312.pyc": b"\x00", "sql/__pycache__/x.pyc": b""}
    )

    assert build("analytics", directory).files == tuple(sorted(TREE))


def test_a_tree_breaking_the_rules_is_refused_with_every_problem(tmp_path: Path) -> None:
    directory = write_tree(tmp_path / "a", {**TREE, "helpers/native.so": b"", ".env": b"TOKEN=x", "run.sh": b""})
    (directory / "link.py").symlink_to(directory / "daily.py")
    os.mkfifo(directory / "pipe.txt")

    with pytest.raises(ReleaseError) as error:
        build("analytics", directory)

    assert str(error.value).splitlines() == [
        f"{directory} cannot be released (5 problems):",
        "  hidden-path: .env: hidden component '.env'",
        "  disallowed-file-type: helpers/native.so: file type not allowed "
        "(allowed: .airflowignore, .csv, .j2, .jinja, .json, .md, .py, .sql, .txt, .yaml, .yml)",
        "  symlink: link.py: symbolic link",
        "  special-file: pipe.txt: not a regular file or directory",
        "  disallowed-file-type: run.sh: file type not allowed "
        "(allowed: .airflowignore, .csv, .j2, .jinja, .json, .md, .py, .sql, .txt, .yaml, .yml)",
    ]


def test_a_symlinked_directory_is_refused_not_followed(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"secret.py": b"x"})
    directory = write_tree(tmp_path / "a", TREE)
    (directory / "shared").symlink_to(outside, target_is_directory=True)

    with pytest.raises(ReleaseError, match="symlink: shared: symbolic link"):
        build("analytics", directory)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (Limits(max_files=4), "too-many-files: 5 files, the limit is 4"),
        (Limits(max_unpacked_bytes=40), r"too-large-unpacked: \d+ bytes unpacked, the limit is 40"),
        (Limits(max_archive_bytes=300), r"would be rejected: too-large: \d+ bytes, the limit is 300"),
    ],
)
def test_the_function_s_limits_apply_before_upload(tmp_path: Path, limits: Limits, message: str) -> None:
    with pytest.raises(ReleaseError, match=message):
        build("analytics", write_tree(tmp_path / "a", TREE), limits)


def test_an_empty_directory_or_a_bad_team_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)

    with pytest.raises(ReleaseError, match="empty-archive: no files"):
        build("analytics", tmp_path / "empty")
    with pytest.raises(ReleaseError, match=r"'\.\./ml' is not a team name"):
        build("../ml", tmp_path / "empty")
    with pytest.raises(ReleaseError, match="is not a directory"):
        build("analytics", tmp_path / "missing")


# ----------------------------------------------------------------------------------------------- names


def test_release_names_follow_commit_time() -> None:
    earlier = release_name(datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=2))), "0123456789abcdef")
    later = release_name(datetime(2026, 3, 4, 4, 0, 0, tzinfo=UTC), "fedcba9876543210")

    assert earlier == "20260304T030607Z-0123456789ab"
    assert earlier < later
    assert releases.decide(later, earlier) is releases.Decision.STALE
    with pytest.raises(ValueError, match="timezone-aware"):
        release_name(datetime(2026, 3, 4), "0123456")


# ---------------------------------------------------------------------------------------------- upload


def test_what_the_pipeline_uploads_the_function_deploys(
    tmp_path: Path, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_tree(tmp_path / "dags" / "analytics", {**TREE, "__pycache__/daily.pyc": b""})
    bundle = build("analytics", source)
    name = release_name(datetime(2026, 3, 4, tzinfo=UTC), "0123456789ab")
    published = dag_release.upload(s3, BUCKET, name, bundle, "0123456789ab")
    root = tmp_path / "efs"
    root.mkdir()
    monkeypatch.setenv("AIRSTACK_DAGS_ROOT", str(root))
    monkeypatch.setenv("AIRSTACK_ARTIFACTS_BUCKET", BUCKET)
    monkeypatch.setenv("AIRSTACK_DAG_TEAMS", json.dumps(["analytics"]))

    key = published.uri.removeprefix(f"s3://{BUCKET}/")
    result = dag_sync.handler(s3_event(BUCKET, key, len(bundle.data)), None)

    assert result["results"][0]["status"] == "deployed"
    deployed = root / "analytics" / "current"
    assert {p.relative_to(deployed).as_posix(): p.read_bytes() for p in deployed.rglob("*") if p.is_file()} == TREE


def test_a_release_is_immutable(tmp_path: Path, s3: Any) -> None:
    name = release_name(datetime(2026, 3, 4, tzinfo=UTC), "0123456789ab")
    bundle = build("analytics", write_tree(tmp_path / "a", TREE))

    assert dag_release.upload(s3, BUCKET, name, bundle, "0123456789ab").uploaded
    assert not dag_release.upload(s3, BUCKET, name, bundle, "0123456789ab").uploaded  # a re-run: nothing to do
    other = build("analytics", write_tree(tmp_path / "b", {**TREE, "daily.py": b"changed\n"}))
    with pytest.raises(ReleaseError, match="exists with other content; releases are immutable"):
        dag_release.upload(s3, BUCKET, name, other, "0123456789ab")
    body = s3.get_object(Bucket=BUCKET, Key=f"dags/analytics/{name}.zip")["Body"].read()
    assert body == bundle.data


# --------------------------------------------------------------------------------------------- command


def test_main_releases_the_committed_directory(
    repo: Path, s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    sha = git(repo, "rev-parse", "HEAD")

    assert dag_release.main(["--team", "analytics", "--bucket", BUCKET]) == 0

    key = f"dags/analytics/20260304T050607Z-{sha[:12]}.zip"
    assert capsys.readouterr().out.startswith(f"s3://{BUCKET}/{key}: 5 files, ")
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["Metadata"]["airstack-git-sha"] == sha
    assert dag_release.main(["--team", "analytics", "--bucket", BUCKET]) == 0
    assert "already released, unchanged" in capsys.readouterr().out


def test_main_refuses_uncommitted_changes(
    repo: Path, s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    (repo / "dags" / "analytics" / "new.py").write_text("x = 1\n")

    assert dag_release.main(["--team", "analytics", "--bucket", BUCKET]) == 2

    assert "has uncommitted changes" in capsys.readouterr().err
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_main_reports_a_bad_directory_and_uploads_nothing(
    repo: Path, s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    write_tree(repo / "dags" / "analytics", {"tool.exe": b"MZ"})
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "oops")

    assert dag_release.main(["--team", "analytics", "--bucket", BUCKET]) == 2

    assert "disallowed-file-type: tool.exe" in capsys.readouterr().err
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_main_dry_run_builds_without_uploading(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)

    assert dag_release.main(["--team", "analytics", "--dry-run", "--output", str(repo / "out.zip")]) == 0

    assert "(dry run, nothing uploaded)" in capsys.readouterr().out
    assert (repo / "out.zip").read_bytes() == build("analytics", repo / "dags" / "analytics").data


def test_main_needs_a_bucket_to_upload(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)

    assert dag_release.main(["--team", "analytics"]) == 2
    assert "--bucket is required" in capsys.readouterr().err
