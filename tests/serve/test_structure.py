"""The service reads as named routes: `create_app` registers them, and no function in app.py runs long."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "flame" / "serve" / "app.py"
MAX_LINES = 80


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_no_function_in_the_app_is_longer_than_80_lines():
    tree = ast.parse(APP.read_text(), filename=str(APP))
    lengths = {f"{f.name} (line {f.lineno})": f.end_lineno - f.lineno + 1 for f in _functions(tree)}
    assert lengths and max(lengths.values()) <= MAX_LINES, {k: v for k, v in lengths.items() if v > MAX_LINES}


def test_create_app_nests_no_routes():
    # Each route is a module-level function that create_app registers, so it can be read (and tested) alone.
    tree = ast.parse(APP.read_text(), filename=str(APP))
    (create_app,) = [f for f in _functions(tree) if f.name == "create_app"]
    assert [f.name for f in _functions(create_app) if f is not create_app] == []


def test_every_route_name_of_the_metrics_is_registered():
    from flame.raters.baselines import FakeRater
    from flame.serve.app import ROUTES, Settings, create_app

    app = create_app(FakeRater(), Settings(cache=False))
    paths = {route.path for route in app.routes}
    assert set(ROUTES) <= paths and "/v1/reports/{path:path}" in paths
