"""Evaluation: harness, metrics with bootstrap CIs, calibration, bias probes, reports, re-ranking.

``flame.evaluate(raters, benchmarks, ...)`` is callable (the package itself), and so is
``flame.evaluate.evaluate``; both run ``flame.evaluate.harness.evaluate``. Heavy pieces (matplotlib,
raters) are imported where used. This package never imports ``flame.train``.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["evaluate"]


def evaluate(*args: Any, **kwargs: Any):
    """See ``flame.evaluate.harness.evaluate``."""
    from flame.evaluate.harness import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


class _CallableModule(types.ModuleType):
    # `flame.evaluate` is both this package and the function users call; a package attribute cannot be
    # both, so the package itself is callable.
    def __call__(self, *args: Any, **kwargs: Any):
        return evaluate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
