"""Release archives for the DAG deployment tests: good ones, and each kind of bad one, built byte by byte."""

from __future__ import annotations

import io
import random
import stat
import struct
import warnings
import zipfile
from collections.abc import Callable
from urllib.parse import quote_plus


def release(n: int, sha: str = "abc1234") -> str:
    """The n-th release name: they sort in n's order."""
    return f"202601{n // 24 + 1:02d}T{n % 24:02d}0000Z-{sha}"


def files_of(name: str, count: int = 3) -> dict[str, bytes]:
    """A small team tree whose every file says which release it belongs to."""
    tree = {"__init__.py": b"", "README.md": f"# {name}\n".encode(), "sql/load.sql": b"select 1;\n"}
    tree.update({f"pipelines/p{i:03d}.py": f"RELEASE = {name!r}  # {i}\n".encode() for i in range(count)})
    return tree


def zip_of(files: dict[str, bytes], *, mode: int = 0o100644, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = mode << 16
            info.compress_type = compression
            zf.writestr(info, data)
    return buffer.getvalue()


def _with_member(name: str, data: bytes = b"x", mode: int = 0o100644, flags: int = 0) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.py", b"")
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = mode << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        info.flag_bits |= flags
        zf.writestr(info, data)
    return buffer.getvalue()


def _duplicate() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": exactly what this archive is for
        zf.writestr("dag.py", b"a = 1\n")
        zf.writestr("dag.py", b"a = 2\n")
    return buffer.getvalue()


def _lying_size() -> bytes:
    """A zip bomb that declares 100 bytes for a member holding 4 MiB of zeros."""
    data = bytearray(zip_of({"bomb.txt": bytes(4 * 1024 * 1024)}))
    real = struct.pack("<I", 4 * 1024 * 1024)
    for start in range(len(data)):
        if data[start : start + 4] == real:
            data[start : start + 4] = struct.pack("<I", 100)
    return bytes(data)


def _bad_crc() -> bytes:
    data = bytearray(zip_of({"dag.py": b"print('hello')\n" * 50}, compression=zipfile.ZIP_STORED))
    at = data.index(b"print('hello')")
    data[at] ^= 0xFF
    return bytes(data)


def _encrypted_flag() -> bytes:
    data = bytearray(_with_member("secret.py", b"x = 1\n"))
    # Set the "encrypted" bit in the central directory record of the second member.
    central = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)
    flags = struct.unpack_from("<H", data, central + 8)[0]
    struct.pack_into("<H", data, central + 8, flags | 0x1)
    return bytes(data)


BAD_ARCHIVES: dict[str, tuple[Callable[[], bytes], str]] = {
    "absolute path": (lambda: _with_member("/etc/cron.d/evil.py"), "unsafe-path"),
    "parent traversal": (lambda: _with_member("../ml/current/evil.py"), "unsafe-path"),
    "inner traversal": (lambda: _with_member("pipelines/../../evil.py"), "unsafe-path"),
    "windows path": (lambda: _with_member("pipelines\\..\\evil.py"), "unsafe-path"),
    "drive letter": (lambda: _with_member("C:/evil.py"), "unsafe-path"),
    "control character": (lambda: _with_member("evil\n.py"), "unsafe-path"),
    "hidden file": (lambda: _with_member(".env"), "hidden-path"),
    "hidden directory": (lambda: _with_member(".git/hooks/post.py"), "hidden-path"),
    "symlink": (lambda: _with_member("link.py", b"/etc/passwd", mode=stat.S_IFLNK | 0o777), "symlink"),
    "fifo": (lambda: _with_member("pipe.py", b"", mode=stat.S_IFIFO | 0o644), "special-file"),
    "character device": (lambda: _with_member("dev.py", b"", mode=stat.S_IFCHR | 0o644), "special-file"),
    "compiled python": (lambda: _with_member("dag.pyc"), "disallowed-file-type"),
    "shared library": (lambda: _with_member("lib/native.so"), "disallowed-file-type"),
    "shell script": (lambda: _with_member("run.sh"), "disallowed-file-type"),
    "nested zip": (lambda: _with_member("more.zip"), "disallowed-file-type"),
    "no suffix": (lambda: _with_member("Makefile"), "disallowed-file-type"),
    "duplicate member": (_duplicate, "duplicate-member"),
    "file under a file": (lambda: zip_of({"a.py": b"", "a.py/b.py": b""}), "duplicate-member"),
    "encrypted member": (_encrypted_flag, "encrypted-member"),
    "bzip2 member": (lambda: zip_of({"dag.py": b"x = 1\n"}, compression=zipfile.ZIP_BZIP2), "unsupported-compression"),
    "not a zip": (lambda: b"this is not a zip file at all", "corrupt-archive"),
    "truncated zip": (lambda: zip_of({"dag.py": b"x = 1\n" * 100})[:-30], "corrupt-archive"),
    "bad crc": (_bad_crc, "corrupt-archive"),
    "size lie (zip bomb)": (_lying_size, "corrupt-archive"),
    "empty archive": (lambda: zip_of({}), "empty-archive"),
    "only directories": (lambda: zip_of({"pipelines/": b""}, mode=stat.S_IFDIR | 0o755), "empty-archive"),
    "too many files": (lambda: zip_of({f"f{i}.py": b"" for i in range(9)}), "too-many-files"),
    "too large unpacked": (lambda: zip_of({"big.csv": bytes(300_000)}), "too-large-unpacked"),
    "too large compressed": (lambda: zip_of({"noise.txt": random.Random(0).randbytes(30_000)}), "too-large"),
}
"""Name -> (archive, expected reason) under the test limits: 8 files, 200 kB unpacked, 20 kB compressed."""

TEST_LIMITS = {
    "AIRSTACK_DAG_MAX_FILES": "8",
    "AIRSTACK_DAG_MAX_UNPACKED_BYTES": "200000",
    "AIRSTACK_DAG_MAX_ARCHIVE_BYTES": "20000",
}


def s3_event(bucket: str, key: str, size: int, version: str | None = None, name: str = "ObjectCreated:Put") -> dict:
    """An S3 notification as Lambda receives it (the key URL-encoded, as S3 sends it)."""
    obj: dict[str, object] = {"key": quote_plus(key, safe="/"), "size": size, "eTag": "0", "sequencer": "01"}
    if version:
        obj["versionId"] = version
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "eu-west-1",
                "eventTime": "2026-01-01T00:00:00.000Z",
                "eventName": name,
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "dag-sync",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": obj,
                },
            }
        ]
    }
