"""The recipe reads in stages (STYLE.md, torchtune's recipes), and the model family is asked in one place.

Read from the source (AST), so these hold without running a model.
"""

from __future__ import annotations

import ast
from pathlib import Path

FLAME = Path(__file__).resolve().parents[2] / "flame"
MAX_LINES = 80


def _functions(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_no_function_in_the_recipe_is_longer_than_80_lines():
    long = {
        f.name: f.end_lineno - f.lineno + 1
        for f in _functions(FLAME / "train" / "recipe.py")
        if f.end_lineno - f.lineno + 1 > MAX_LINES
    }
    assert long == {}


def test_train_is_setup_train_save_cleanup():
    """`train()` calls the stages in order, and no stage hides a closure that does setup."""
    tree = ast.parse((FLAME / "train" / "recipe.py").read_text(encoding="utf-8"))
    train = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "train")
    calls = [
        c.func.attr
        for c in ast.walk(train)
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr != "get"
    ]
    assert calls == ["finished", "setup", "train", "save", "cleanup"]
    recipe = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Recipe")
    for method in recipe.body:
        if isinstance(method, ast.FunctionDef):
            nested = [n.name for n in ast.walk(method) if isinstance(n, ast.FunctionDef) and n is not method]
            assert nested == [], f"Recipe.{method.name} defines {nested}"


# Calls that still ask "is this an encoder judge?" outside the family modules, in files this change could
# not touch: `flame calibrate` refuses a folder that is not a saved judge (flame/train/cli.py; the family's
# `fits_label_biases` / `is_saved_judge` answers it).
KNOWN_CALLERS = {"flame/train/cli.py"}
FAMILY_MODULES = ("flame/families/", "flame/encoder/")


def test_no_is_encoder_calls_outside_the_family_modules():
    callers = set()
    for path in sorted(FLAME.rglob("*.py")):
        rel = str(path.relative_to(FLAME.parent))
        if rel.startswith(FAMILY_MODULES):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
                if name.startswith("is_encoder_"):
                    callers.add(rel)
    assert callers <= KNOWN_CALLERS, sorted(callers - KNOWN_CALLERS)
