"""Static rules for DAG files, from their syntax tree: what runs when the dag-processor parses a file.

Parse-time code is the module body, class bodies, decorators and default values, the bodies of ``@dag``
and ``@task_group`` functions and of ``with DAG(...)`` blocks, and any module function they call. Task
bodies (``@task``, ``@task.<kind>``, ``execute``) run on a worker and may do anything. The dag-processor
re-parses every file every few minutes, so parse-time code must not read Variables or Connections, open
files or sockets, sleep, or import heavy libraries and provider hooks.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

FORBIDDEN_CALLS = frozenset(
    {
        "Variable.get",
        "Variable.set",
        "Connection.get",
        "BaseHook.get_connection",
        "get_connection",
        "open",
        "sleep",
        "time.sleep",
        "os.system",
        "os.popen",
        "urlopen",
        "socket.create_connection",
        "create_engine",
    }
)
FORBIDDEN_CALL_ROOTS = frozenset({"requests", "httpx", "boto3", "subprocess", "psycopg2", "sqlalchemy", "urllib"})
HEAVY_MODULES = frozenset(
    {"pandas", "numpy", "scipy", "sklearn", "torch", "tensorflow", "pyarrow", "polars"} | FORBIDDEN_CALL_ROOTS
)
HOOK_MODULE = re.compile(r"^airflow\.providers\.[\w.]+\.hooks(\.|$)")
PARSE_TIME_DECORATORS = frozenset({"dag", "task_group"})


@dataclass(frozen=True)
class Finding:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for a name or attribute chain (calls in the chain are kept as ``()``), else ``""``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    if isinstance(node, ast.Call):
        base = dotted(node.func)
        return f"{base}()" if base else ""
    return ""


def _decorator_name(node: ast.expr) -> str:
    return dotted(node.func if isinstance(node, ast.Call) else node).split(".")[-1]


def _runs_at_parse_time(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(_decorator_name(d) in PARSE_TIME_DECORATORS for d in function.decorator_list)


def parse_time_findings(source: str) -> list[Finding]:
    """Everything a file does at parse time that it should do in a task."""
    tree = ast.parse(source)
    functions = {
        n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and not n.decorator_list
    }
    findings: list[Finding] = []
    pending: list[ast.AST] = [tree]
    checked: set[str] = set()
    while pending:
        for node in _parse_time_nodes(pending.pop()):
            findings.extend(_judge(node))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
                name = node.func.id
                if name not in checked:
                    checked.add(name)
                    pending.append(ast.Module(body=functions[name].body, type_ignores=[]))
    return sorted(set(findings), key=lambda f: (f.line, f.message))


def _parse_time_nodes(root: ast.AST) -> Iterator[ast.AST]:
    """The nodes under ``root`` that are evaluated when it runs, without descending into deferred bodies."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack.extend(node.decorator_list)
            stack.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
            if _runs_at_parse_time(node):
                stack.extend(node.body)
        elif isinstance(node, ast.Lambda):
            stack.extend(node.args.defaults)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _judge(node: ast.AST) -> Iterator[Finding]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield from _judge_import(node.lineno, alias.name)
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        yield from _judge_import(node.lineno, node.module)
    elif isinstance(node, ast.Call):
        name = dotted(node.func)
        parts = name.split(".")
        if parts[-1] in FORBIDDEN_CALLS or ".".join(parts[-2:]) in FORBIDDEN_CALLS or parts[0] in FORBIDDEN_CALL_ROOTS:
            yield Finding(node.lineno, f"calls {name}() at parse time; do it inside a task")
        elif name.split(".")[-1].endswith("Hook"):
            yield Finding(node.lineno, f"creates {name} at parse time; create hooks inside a task")


def _judge_import(line: int, module: str) -> Iterator[Finding]:
    if module.split(".", maxsplit=1)[0] in HEAVY_MODULES:
        yield Finding(line, f"imports {module} at parse time; import it inside the task that needs it")
    elif HOOK_MODULE.match(module):
        yield Finding(line, f"imports the hook module {module} at parse time; import it inside the task")


def keyword_values(source: str, keyword: str) -> list[ast.expr]:
    """The values passed as ``keyword=`` in any call of the file."""
    return [
        k.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        for k in node.keywords
        if k.arg == keyword
    ]
