"""The rules of the house, read from the imports themselves (``ast``, nothing is run).

Arrows point down only (``docs/architecture.md``): ``web``, ``cli`` -> ``jobs`` ->
``services`` -> ``store``, ``media``; ``store`` -> ``media`` and ``config``; ``media`` ->
nothing of mediafix but ``config``. No module imports another that imports it back, and
nothing is loaded behind the import scanner's back (``importlib``, ``__import__``). Every
import counts, at the top of a module or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers.paths import SRC

PACKAGE = "mediafix"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The mediafix modules ``name`` imports. ``from pkg import sub`` depends on ``pkg.sub``
    (a submodule), ``from pkg import thing`` on ``pkg``; a package's own ``__init__`` runs
    first whatever is imported from it, so that is no edge of its own."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    deps: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            deps.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                deps.add(sub if sub in MODULES else source)
    return {d for d in deps if d in MODULES and d != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


# ``datadir.py`` and ``homezone.py`` are part of the config layer: where the library lives
# and the home zone, read without pydantic (``config`` imports them; they import nothing
# of mediafix).
_CONFIG_MODULES = {"datadir", "homezone"}


def _layer(module: str) -> str:
    parts = module.split(".")
    layer = parts[1] if len(parts) > 1 else ""
    return "config" if layer in _CONFIG_MODULES else layer


def test_no_import_cycle() -> None:
    # Tarjan's strongly connected components: any component of more than one module, or a
    # module importing itself, is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert cycles == []


# layer -> the mediafix layers (besides itself) its modules may import
ALLOWED = {
    "config": set(),
    "media": {"config"},
    "store": {"config", "media"},
    "services": {"config", "media", "store"},
    "jobs": {"config", "media", "store", "services"},
    "web": {"config", "media", "store", "services", "jobs"},
}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_arrows_point_down(layer: str) -> None:
    wrong = sorted(
        f"{module} imports {dep}"
        for module, deps in GRAPH.items()
        if _layer(module) == layer
        for dep in deps
        if _layer(dep) not in ALLOWED[layer] | {layer} and dep != PACKAGE
    )
    assert wrong == []


def test_no_importlib_tricks() -> None:
    tricks = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import) and any(
                a.name.split(".")[0] == "importlib" for a in node.names
            ):
                tricks.append(f"{name}: import importlib")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("importlib"):
                tricks.append(f"{name}: from {node.module} import ...")
            elif isinstance(node, ast.Name) and node.id == "__import__":
                tricks.append(f"{name}: __import__")
    assert tricks == []


VIEWS = sorted(m for m in MODULES if m.startswith("mediafix.web.views."))
# What asks the database, whatever module it was imported from (``store`` could hand a
# view ``select`` or ``text``): a Session's or a query's methods, a SQL builder.
_QUERIES = {"execute", "scalars", "scalar", "query", "select", "where", "filter", "filter_by"}
_SESSION_WRITES = {"add", "add_all", "merge", "flush", "delete", "refresh", "expunge"}
_SQL_MODULES = {"func", "sa", "sqlalchemy"}  # func.count(), sa.select()
_BUILDERS = {"select", "text", "update", "delete", "insert", "func", "and_", "or_", "exists"}


def _sql_in(tree: ast.AST, tables: set[str]) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
            )
            found += [f"imports {n}" for n in names if n.split(".")[0] == "sqlalchemy"]
            if isinstance(node, ast.ImportFrom):
                found += [f"imports {a.name}" for a in node.names if a.name in _BUILDERS]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in _BUILDERS:
                found.append(f"{node.func.id}() on line {node.lineno}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            receiver = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
            if attr in _QUERIES | _SESSION_WRITES or receiver in _SQL_MODULES:
                found.append(f".{attr}() on line {node.lineno}")
            elif (
                attr == "get"
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in tables
            ):
                found.append(f".get({node.args[0].id}, ...) on line {node.lineno}")
    return found


def _tables() -> set[str]:
    from mediafix.store import models

    return {
        n
        for n in dir(models)
        if isinstance(getattr(models, n), type) and issubclass(getattr(models, n), models.Base)
    }


@pytest.mark.parametrize("view", VIEWS)
def test_views_hold_no_sql(view: str) -> None:
    """A page asks ``store`` for what it shows: no SQLAlchemy, no SQL builder (``select``,
    ``text``, ...), no query or session write, no row looked up by id in a view (a commit
    ends the request's transaction, and is allowed)."""
    assert _sql_in(ast.parse(MODULES[view].read_text()), _tables()) == []


@pytest.mark.parametrize(
    "snippet",
    [
        "from sqlalchemy import select",
        "from mediafix.store.db import text",
        "rows = s.execute(q)",
        "rows = db().scalars(q)",
        "q = select(File)",
        "q = sa.select(File)",
        "n = func.count()",
        "f = s.get(File, 3)",
        "s.add(row)",
        "s.delete(row)",
        "q = File.query.filter_by(id=1)",
    ],
)
def test_the_sql_check_sees_sql(snippet: str) -> None:
    """Each of these would be SQL in a view: the check above must name it."""
    assert _sql_in(ast.parse(snippet), {"File"}) != []


def test_the_sql_check_lets_a_view_be() -> None:
    assert _sql_in(ast.parse("s = db()\ns.commit()\nrows = store.recent(s, 5)"), {"File"}) == []


def test_the_rules_see_the_whole_tree() -> None:
    """The graph is read from every module, and it does find imports (a broken reader would
    pass every rule above)."""
    assert {"media", "store", "services", "jobs", "web"} <= {_layer(m) for m in MODULES}
    assert "mediafix.media.plan.planner" in GRAPH["mediafix.media.plan"]
    assert "mediafix.store.models" in GRAPH["mediafix.store.records"]
    assert len(VIEWS) >= 10 and "mediafix.web.views.output" in VIEWS
