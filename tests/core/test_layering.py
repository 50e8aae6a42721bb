"""The package's layers, read from its source: every ``import`` and ``from ... import`` statement, including
those inside functions (imported late is still imported), folded into a graph between packages.

Layers, lowest first (an arrow may point down or stay in its layer, never up, and no arrows form a cycle;
see STYLE.md, "Which way imports point"):

    core        types, format, registry, jsonio, adhoc, errors, truncation, cliargs, __version__
    data        data
    sources     tasks (registrations), benchmarks (evaluation-only data)
    models      scoring, encoder
    families    families (the text-to-text LM and the encoder judge behind one interface)
    raters      raters
    runs        train, evaluate (they meet only through run folders on disk, never by import)
    top         serve, rewards, demo, cli, and the package root (the lazy `flame.load_rater` / `flame.evaluate`)
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "flame"

LAYERS = [
    {"types", "format", "registry", "jsonio", "adhoc", "errors", "truncation", "cliargs", "__version__"},
    {"data"},
    {"tasks", "benchmarks"},
    {"scoring", "encoder"},
    {"families"},
    {"raters"},
    {"train", "evaluate"},
    {"serve", "rewards", "demo", "cli", ""},  # "": the package root, flame/__init__.py
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}

# Known edges that break the rules, each named with why it is there and how it goes away. Any other
# upward or cyclic import fails the test.
KNOWN: set[tuple[str, str]] = set()
# (flame/data/task.py finds the task registrations as plugins by package name, `task_packages()`, so the
# data layer imports no task package: the registrations depend on data, not the reverse.)


def _package(module: str) -> str:
    """``flame.train.recipe`` → ``train``; ``flame`` → ``""`` (the root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The flame modules (or packages) an import statement names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: from the module's package, up level - 1
        anchor = module.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, *([base] if base else [])])
    if base == "flame":
        # `from flame import __version__` reads a constant, not the root's lazy API; a submodule is itself.
        return [f"flame.{a.name}" if a.name != "__version__" else "flame.__version__" for a in node.names]
    return [base]


def import_graph() -> dict[str, dict[str, list[str]]]:
    """{package: {imported package: ["file:line", ...]}} over every flame source file."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_of(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            for target in _imported(node, module, path.name == "__init__.py"):
                if target != "flame" and not target.startswith("flame."):
                    continue
                a, b = _package(module), _package(target)
                if a != b:
                    graph[a][b].append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    return graph


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return out


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_every_package_has_a_layer(graph):
    packages = {_package(_module_of(p)) for p in ROOT.rglob("*.py")} | {"__version__"}
    assert packages - set(LAYER) == set(), "give each new package a layer in LAYERS"


def test_imports_point_down(graph):
    upward = [
        f"{a or 'flame'} -> {b or 'flame'} ({LAYER[a]} -> {LAYER[b]}): {', '.join(sites[:3])}"
        for a, targets in graph.items()
        for b, sites in targets.items()
        if (a, b) not in KNOWN and LAYER[b] > LAYER[a]
    ]
    assert upward == []


@pytest.mark.parametrize(
    ("low", "high"),
    [
        (LAYERS[0] | LAYERS[1], {"scoring", "encoder", "families", "raters", "train", "evaluate"}),
        ({"raters"}, {"train"}),
        ({"train"}, {"evaluate"}),
        ({"evaluate"}, {"train"}),
    ],
    ids=[
        "core-and-data-import-no-models",
        "raters-never-import-train",
        "train-not-evaluate",
        "evaluate-not-train",
    ],
)
def test_rules(graph, low, high):
    broken = [f"{a} -> {b}: {graph[a][b][:3]}" for a in low for b in high if b in graph.get(a, {})]
    assert broken == []


def test_no_cycles_between_packages(graph):
    edges = {a: {b for b in targets if (a, b) not in KNOWN} for a, targets in graph.items()}
    assert _cycles(edges) == []


def test_the_known_exceptions_are_still_needed(graph):
    """A known edge that has gone is removed from KNOWN, so that it cannot come back unnoticed."""
    gone = [edge for edge in KNOWN if edge[1] not in graph.get(edge[0], {})]
    assert gone == []


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_task_packages_are_plugins_found_by_name(monkeypatch):
    """The data layer finds registrations by package name: the built-in one, then entry points."""
    import importlib.metadata

    from flame.data import task

    builtin = len(task.load_all_tasks())  # loaded once per process, before the fake plugin appears

    class EntryPoint:
        value = "my_org.flame_tasks"

    def entry_points(group):
        assert group == "flame.tasks"
        return [EntryPoint()]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    assert task.task_packages() == ["flame.tasks", "my_org.flame_tasks"]
    assert builtin > 100
