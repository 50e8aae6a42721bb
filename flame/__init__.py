"""FLAMe foundational autoraters: one text-to-text format over many human-judgment datasets."""

__version__ = "0.1.0"

__all__ = ["__version__", "evaluate", "load_rater"]


def load_rater(spec: str, **options):
    """Build a rater from a spec string (``smollm2``, ``hf:PATH``, ``length`` ...).

    Imported lazily so that ``import flame`` stays free of torch.
    """
    from flame.raters import load_rater as _load_rater

    return _load_rater(spec, **options)


def __getattr__(name):
    # `flame.evaluate(raters, benchmarks, ...)`: the package flame.evaluate is itself callable; importing it
    # lazily keeps `import flame` light.
    if name == "evaluate":
        import importlib

        return importlib.import_module("flame.evaluate")
    raise AttributeError(f"module 'flame' has no attribute {name!r}")
