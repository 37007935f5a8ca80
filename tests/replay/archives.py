"""A function's code as Lambda receives it: the zip the engine builds from a Pulumi archive, and whether the
handler it names resolves inside it, as the runtime's bootstrap resolves it."""

from __future__ import annotations

import ast
import io
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

from airstack.wire import ARCHIVE_SIG, ASSET_SIG, SIG

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the engine writes every entry with one time: the same code, the same zip


class ArchiveError(ValueError):
    """The archive cannot be built here (a remote asset, a missing file)."""


def archive_files(archive: Any) -> dict[str, bytes]:
    """The files of a serialized Pulumi archive (assets by name, a directory or a zip file), by path."""
    if not isinstance(archive, dict) or archive.get(SIG) != ARCHIVE_SIG:
        raise ArchiveError(f"not an archive: {str(archive)[:80]}")
    if "assets" in archive:
        files: dict[str, bytes] = {}
        for name, member in archive["assets"].items():
            if isinstance(member, dict) and member.get(SIG) == ARCHIVE_SIG:
                files.update({f"{name.rstrip('/')}/{k}": v for k, v in archive_files(member).items()})
            else:
                files[name] = _asset_bytes(name, member)
        return files
    path = archive.get("path")
    if not path:
        raise ArchiveError("only local archives (assets, a directory, a zip file) are built here")
    source = Path(path)
    if source.is_dir():
        return {p.relative_to(source).as_posix(): p.read_bytes() for p in sorted(source.rglob("*")) if p.is_file()}
    if source.suffix in (".zip", ".jar"):
        with zipfile.ZipFile(source) as zipped:
            return {i.filename: zipped.read(i) for i in zipped.infolist() if not i.is_dir()}
    raise ArchiveError(f"{path}: not a directory or a zip file")


def _asset_bytes(name: str, asset: Any) -> bytes:
    if not isinstance(asset, dict) or asset.get(SIG) != ASSET_SIG:
        raise ArchiveError(f"{name}: not an asset")
    if "text" in asset:
        return str(asset["text"]).encode()
    if "path" in asset:
        try:
            return Path(asset["path"]).read_bytes()
        except OSError as error:
            raise ArchiveError(f"{name}: {error}") from error
    raise ArchiveError(f"{name}: a remote asset is not fetched here")


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, _FIXED_TIME)
            info.external_attr = 0o644 << 16
            zipped.writestr(info, files[name], zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------- handlers

PYTHON_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six",
                             "awslambdaric"})  # fmt: skip
"""Packages the Python runtimes carry besides the standard library (the SDK and what it needs)."""
_NODE_EXTENSIONS = (".js", ".mjs", ".cjs")


def handler_problems(runtime: str, handler: str, files: dict[str, bytes]) -> list[str]:
    """Whether ``handler`` names a file and function inside the package, as the runtime resolves it; for Python,
    also that the code parses for the runtime's version and every module it imports is in the package, the
    standard library or the runtime."""
    if runtime.startswith("python"):
        return _python_problems(runtime, handler, files)
    if runtime.startswith("nodejs"):
        module, _, function = handler.rpartition(".")
        if not module or not function:
            return [f"handler {handler!r} is not <file>.<function>"]
        if not any(module + ext in files for ext in _NODE_EXTENSIONS):
            return [f"handler {handler!r}: the package has no {module}.js, .mjs or .cjs"]
    return []


def _python_problems(runtime: str, handler: str, files: dict[str, bytes]) -> list[str]:
    module, _, function = handler.rpartition(".")
    if not module or not function:
        return [f"handler {handler!r} is not <module>.<function>"]
    module = module.replace("/", ".")
    path = _module_path(module, files)
    if path is None:
        return [f"handler {handler!r}: the package has no module {module} ({module.replace('.', '/')}.py)"]
    found = re.fullmatch(r"python(\d+)\.(\d+)", runtime)
    version = (int(found[1]), int(found[2])) if found else sys.version_info[:2]
    problems: list[str] = []
    trees = _load(module, files, version, runtime, problems)
    tree = trees.get(module)
    if tree is not None and function not in _top_level_names(tree):
        problems.append(f"handler {handler!r}: {path} defines no {function} at module level")
    return problems


def _load(module: str, files: dict[str, bytes], version: tuple[int, int], runtime: str,
          problems: list[str]) -> dict[str, ast.Module]:  # fmt: skip
    """The modules importing ``module`` loads from the package, parsed; what they import that is nowhere to be
    found (not in the package, the standard library or the runtime) is a problem."""
    trees: dict[str, ast.Module] = {}
    wanted: list[tuple[str, str, str]] = []  # (module, name, where) a from-import takes from a module
    pending, seen = [module], set()
    while pending:
        name = pending.pop()
        where = _module_path(name, files)
        if name in seen or where is None:
            continue
        seen.add(name)
        tree = _parse(files[where], where, version, problems)
        if tree is None:
            continue
        trees[name] = tree
        package = name if where.endswith("__init__.py") else name.rpartition(".")[0]
        for imported, names, line in _imports(tree, package):
            at, top = f"{where}:{line}", imported.split(".")[0]
            if _module_path(top, files) is None:
                if top not in sys.stdlib_module_names | PYTHON_PROVIDED:
                    problems.append(f"{at} imports {imported}, which is neither in the package nor in {runtime}")
            elif _module_path(imported, files) is None:
                problems.append(f"{at} imports {imported}, which is not in the package")
            else:
                parts = imported.split(".")
                pending += [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
                pending += [f"{imported}.{m}" for m in names if _module_path(f"{imported}.{m}", files)]
                wanted += [(imported, m, at) for m in names if not _module_path(f"{imported}.{m}", files)]
    for imported, member, at in wanted:
        tree = trees.get(imported)
        if tree is not None and not {member, "*"} & _top_level_names(tree):
            problems.append(f"{at} imports {member} from {imported}, which has no such module or name")
    return trees


def _module_path(module: str, files: dict[str, bytes]) -> str | None:
    base = module.replace(".", "/")
    return next((p for p in (f"{base}.py", f"{base}/__init__.py") if p in files), None)


def _parse(source: bytes, where: str, version: tuple[int, int], problems: list[str]) -> ast.Module | None:
    # A runtime newer than this interpreter may accept syntax this one cannot parse, and ast parses no older
    # grammar than 3.7's: neither is a finding.
    own = sys.version_info[:2]
    judged = (3, 7) <= version <= own
    try:
        return ast.parse(source, where, feature_version=version if judged else None)
    except SyntaxError as error:
        if judged:
            problems.append(f"{where}:{error.lineno}: not valid Python {version[0]}.{version[1]}: {error.msg}")
        return None


def _imports(tree: ast.Module, package: str) -> list[tuple[str, tuple[str, ...], int]]:
    """The modules ``tree`` imports (absolute names) with the names a from-import takes from each; imports
    guarded by ``try`` (optional ones) left out."""
    guarded = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try) for b in t.body for n in ast.walk(b)}
    found: list[tuple[str, tuple[str, ...], int]] = []
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            parts = package.split(".") if package else []
            base = ".".join(parts[: len(parts) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names = tuple(alias.name for alias in node.names if alias.name != "*")
            if module:
                found.append((module, names, node.lineno))
    return found


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Try | ast.If):
            names.update(_top_level_names(ast.Module(body=[*node.body, *node.orelse], type_ignores=[])))
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in tree.body):
        names.add("*")  # a star import may define anything: assume it does
    return names
