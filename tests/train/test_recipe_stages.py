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


# Calls that ask "is this an encoder judge?" outside the family modules: none (the family answers it, e.g.
# `FAMILIES.get("encoder").is_saved_judge(folder)` in `flame calibrate`).
KNOWN_CALLERS: set[str] = set()
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


def test_the_stages_run_one_by_one(toy_registry, tiny_model, tiny_encoder, tmp_path):
    """Each stage alone: setup picks the family once, one train_step is one optimizer step, evaluate and
    save_checkpoint log and write what they say, cleanup returns the result."""
    import math

    import train_toys as toys
    from test_recipe import tiny_config

    from flame.train.recipe import Recipe

    for base, family in ((tiny_model, "causal"), (tiny_encoder, "encoder")):
        run = tmp_path / family
        cfg = tiny_config(base, run, eval={"every": 0, "held_in": [toys.CLASSIFICATION], "n": 4})
        recipe = Recipe(cfg, resume=False, progress=False, on_step=None, keep_model=False)
        assert recipe.finished(save_final=True) is None
        recipe.setup(None)
        assert recipe.family.name == family and recipe.start == 0
        assert math.isfinite(recipe.train_step(1))
        recipe.evaluate(1)
        recipe.save_checkpoint(1)
        assert (run / "checkpoints" / "step-1" / "state.json").is_file()
        result = recipe.cleanup(1, None)
        evals = [m for m in result.metrics if "eval" in m]
        assert (
            result.step == 1 and len(evals) == 1 and evals[0]["eval"]["dev/" + toys.CLASSIFICATION]["n"] == 4
        )
