"""What a DAG release may contain, and how it is unpacked. Pure: no AWS, and the only writes are in ``extract``.

One set of rules for both ends of the pipeline: the DAG workflow (``airstack.dag_release``) checks a team's
directory with ``problems`` and the zip it built with ``inspect``; the deployment function runs ``inspect`` on
what it downloaded before it writes anything. A release is rejected for the first rule it breaks, with one
of ``REASONS`` (the metric dimension) and a detail for the log.

The zip is read twice: ``inspect`` decompresses every member into nothing, with the sizes the archive
declares as hard limits, so a corrupt or lying archive is found before a byte reaches the file system;
``extract`` enforces the same limits again while writing (it may be handed any bytes).
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from io import BytesIO
from pathlib import Path, PurePosixPath

MiB = 1024 * 1024
CHUNK = 64 * 1024

ALLOWED_SUFFIXES = frozenset({".py", ".sql", ".json", ".yaml", ".yml", ".md", ".txt", ".csv", ".j2", ".jinja"})
"""Text the pipeline can lint or review, and that Airflow reads as DAGs, templates or config. Compiled or
binary code (.pyc, .so, wheels, nested zips), shell scripts and dot-files stay out: whatever runs on the
workers and is not a DAG belongs in the reviewed core image."""
ALLOWED_NAMES = frozenset({".airflowignore"})
"""Files allowed by exact name, although hidden or without an allowed suffix."""
MAX_COMPONENT_BYTES = 255
MAX_PATH_BYTES = 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_COMPRESSIONS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


class Reason(StrEnum):
    """Why a release was rejected; the value is the ``Reason`` metric dimension."""

    MALFORMED_KEY = "malformed-key"
    UNEXPECTED_BUCKET = "unexpected-bucket"
    UNKNOWN_TEAM = "unknown-team"
    BAD_RELEASE_NAME = "bad-release-name"
    TOO_LARGE = "too-large"
    CORRUPT_ARCHIVE = "corrupt-archive"
    EMPTY_ARCHIVE = "empty-archive"
    UNSAFE_PATH = "unsafe-path"
    HIDDEN_PATH = "hidden-path"
    SYMLINK = "symlink"
    SPECIAL_FILE = "special-file"
    DISALLOWED_FILE_TYPE = "disallowed-file-type"
    DUPLICATE_MEMBER = "duplicate-member"
    ENCRYPTED_MEMBER = "encrypted-member"
    UNSUPPORTED_COMPRESSION = "unsupported-compression"
    TOO_MANY_FILES = "too-many-files"
    TOO_LARGE_UNPACKED = "too-large-unpacked"


REASONS = tuple(r.value for r in Reason)


class Kind(StrEnum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    SPECIAL = "special"


@dataclass(frozen=True)
class Limits:
    max_archive_bytes: int = 20 * MiB
    max_unpacked_bytes: int = 100 * MiB
    max_files: int = 2000

    def __post_init__(self) -> None:
        for name in ("max_archive_bytes", "max_unpacked_bytes", "max_files"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class Entry:
    """One member of a release: a path relative to the release root (``/``-separated), what it is, its size."""

    path: str
    kind: Kind
    size: int = 0


@dataclass(frozen=True)
class Problem:
    reason: Reason
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}" if self.path else self.detail


class Rejected(Exception):  # noqa: N818 - a rejection is an outcome, not a crash
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail

    @classmethod
    def of(cls, problems: list[Problem]) -> Rejected:
        """The first problem decides the reason; the detail lists a few more so one log line tells most."""
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        return cls(problems[0].reason, shown + more)


@dataclass(frozen=True)
class Manifest:
    """A release that passed ``inspect``: its files in archive order and their total size."""

    files: tuple[Entry, ...]
    directories: tuple[str, ...]
    unpacked_bytes: int


# ------------------------------------------------------------------------------------------------- rules


def path_problem(path: str, kind: Kind) -> Problem | None:  # noqa: PLR0911 - one return per rule
    """Whether ``path`` (relative, ``/``-separated, no trailing slash) may appear in a release."""
    if not path:
        return Problem(Reason.UNSAFE_PATH, path, "empty member name")
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return Problem(Reason.UNSAFE_PATH, repr(path), "control character in the name")
    if "\\" in path:
        return Problem(Reason.UNSAFE_PATH, path, "backslash in the name (a Windows path?)")
    if path.startswith("/") or _DRIVE.match(path):
        return Problem(Reason.UNSAFE_PATH, path, "absolute path")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return Problem(Reason.UNSAFE_PATH, path, "'..', '.' or an empty component")
    if len(path.encode()) > MAX_PATH_BYTES or any(len(p.encode()) > MAX_COMPONENT_BYTES for p in parts):
        return Problem(Reason.UNSAFE_PATH, path, "name too long")
    name = parts[-1]
    hidden = [p for p in parts[:-1] if p.startswith(".")]
    if name.startswith(".") and not (kind is Kind.FILE and name in ALLOWED_NAMES):
        hidden.append(name)
    if hidden:
        return Problem(Reason.HIDDEN_PATH, path, f"hidden component {hidden[0]!r}")
    if kind is Kind.SYMLINK:
        return Problem(Reason.SYMLINK, path, "symbolic link")
    if kind is Kind.SPECIAL:
        return Problem(Reason.SPECIAL_FILE, path, "not a regular file or directory")
    if kind is Kind.FILE and name not in ALLOWED_NAMES and PurePosixPath(name).suffix.lower() not in ALLOWED_SUFFIXES:
        allowed = ", ".join(sorted(ALLOWED_SUFFIXES | ALLOWED_NAMES))
        return Problem(Reason.DISALLOWED_FILE_TYPE, path, f"file type not allowed (allowed: {allowed})")
    return None


def problems(entries: Iterable[Entry], limits: Limits) -> list[Problem]:
    """Every rule a release breaks, member rules first, then the whole-release limits."""
    found: list[Problem] = []
    kinds: dict[str, Kind] = {}
    files = 0
    unpacked = 0
    for entry in entries:
        problem = path_problem(entry.path, entry.kind)
        if problem is not None:
            found.append(problem)
            continue
        if entry.path in kinds:
            found.append(Problem(Reason.DUPLICATE_MEMBER, entry.path, "appears more than once"))
            continue
        kinds[entry.path] = entry.kind
        if entry.kind is Kind.FILE:
            files += 1
            unpacked += entry.size
    for path in kinds:
        clash = next((str(p) for p in PurePosixPath(path).parents if kinds.get(str(p)) is Kind.FILE), None)
        if clash is not None:
            found.append(Problem(Reason.DUPLICATE_MEMBER, path, f"its parent {clash!r} is a file"))
    if not found and files == 0:
        found.append(Problem(Reason.EMPTY_ARCHIVE, "", "no files"))
    if files > limits.max_files:
        found.append(Problem(Reason.TOO_MANY_FILES, "", f"{files} files, the limit is {limits.max_files}"))
    if unpacked > limits.max_unpacked_bytes:
        found.append(
            Problem(
                Reason.TOO_LARGE_UNPACKED, "", f"{unpacked} bytes unpacked, the limit is {limits.max_unpacked_bytes}"
            )
        )
    return found


# --------------------------------------------------------------------------------------------- zip files


def zip_entry(info: zipfile.ZipInfo) -> Entry:
    """A zip member as an ``Entry``: the kind comes from the Unix mode in the high bits of the attributes."""
    mode = info.external_attr >> 16
    if info.filename.endswith("/") or stat.S_ISDIR(mode):
        kind = Kind.DIRECTORY
    elif stat.S_ISLNK(mode):
        kind = Kind.SYMLINK
    elif stat.S_IFMT(mode) in (0, stat.S_IFREG):
        kind = Kind.FILE  # no file type (no Unix mode, or permission bits only, as zipfile.writestr makes)
    else:
        kind = Kind.SPECIAL
    path = info.filename[:-1] if info.filename.endswith("/") else info.filename
    return Entry(path, kind, info.file_size)


def inspect(data: bytes, limits: Limits) -> Manifest:
    """Check a release archive completely without writing anything; raise ``Rejected`` for the first rule
    it breaks. Every member is decompressed (and its CRC checked) with its declared size as a hard limit."""
    if len(data) > limits.max_archive_bytes:
        raise Rejected(Reason.TOO_LARGE, f"{len(data)} bytes, the limit is {limits.max_archive_bytes}")
    with _reading():
        zf = zipfile.ZipFile(BytesIO(data))
    with zf:
        infos = zf.infolist()
        # Count before looking closer, so a million-member archive costs no more than the limit.
        if len(infos) > limits.max_files * 2:
            raise Rejected(Reason.TOO_MANY_FILES, f"{len(infos)} members, the limit is {limits.max_files} files")
        for info in infos:
            if info.flag_bits & 0x1:
                raise Rejected(Reason.ENCRYPTED_MEMBER, f"{info.filename}: encrypted")
            if info.compress_type not in _COMPRESSIONS:
                raise Rejected(
                    Reason.UNSUPPORTED_COMPRESSION, f"{info.filename}: compression method {info.compress_type}"
                )
        entries = [zip_entry(info) for info in infos]
        found = problems(entries, limits)
        if found:
            raise Rejected.of(found)
        for info, entry in zip(infos, entries, strict=True):
            if entry.kind is Kind.FILE:
                with _reading():
                    for _ in _read_member(zf, info):
                        pass
    files = tuple(e for e in entries if e.kind is Kind.FILE)
    directories = tuple(e.path for e in entries if e.kind is Kind.DIRECTORY)
    return Manifest(files, directories, sum(e.size for e in files))


@contextmanager
def _reading() -> Iterator[None]:
    """The zip reader's failures on untrusted bytes, whatever their type, mean one thing: a corrupt archive."""
    try:
        yield
    except Exception as error:  # zipfile fails in many ways: struct.error, NotImplementedError, ...
        raise Rejected(Reason.CORRUPT_ARCHIVE, f"{type(error).__name__}: {error}") from error


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's bytes in chunks, never more than it declares (zipfile checks the CRC at the end)."""
    left = info.file_size
    with zf.open(info) as stream:
        while chunk := stream.read(min(CHUNK, left + 1)):
            left -= len(chunk)
            if left < 0:
                raise zipfile.BadZipFile(f"{info.filename}: more data than the {info.file_size} bytes declared")
            yield chunk
    if left:
        raise zipfile.BadZipFile(f"{info.filename}: {left} bytes fewer than declared")


def extract(data: bytes, manifest: Manifest, destination: Path) -> None:
    """Write the files of an inspected archive under ``destination``, which must not exist yet.

    Files are created exclusively (never through an existing name or link) with mode 0644 and directories
    0755, whatever the archive says, so Airflow's user can read everything and execute nothing new. Sizes
    are enforced again while writing; a failure leaves a partial tree that the caller removes.
    """
    destination.mkdir(mode=0o755)
    os.chmod(destination, 0o755)
    made = {destination}
    by_name = {f.path: f for f in manifest.files}
    with zipfile.ZipFile(BytesIO(data)) as zf:
        for directory in manifest.directories:
            _mkdirs(destination, destination.joinpath(*directory.split("/")), made)
        for info in zf.infolist():
            if info.filename not in by_name:
                continue
            target = destination.joinpath(*info.filename.split("/"))
            _mkdirs(destination, target.parent, made)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
            with os.fdopen(fd, "wb") as out:
                for chunk in _read_member(zf, info):
                    out.write(chunk)
                os.fchmod(out.fileno(), 0o644)


def _mkdirs(root: Path, directory: Path, made: set[Path]) -> None:
    missing = []
    while directory not in made:
        if directory == root or root not in directory.parents:
            raise ValueError(f"{directory} is outside {root}")
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir(mode=0o755)
        os.chmod(path, 0o755)
        made.add(path)
