"""Shared fixtures: an isolated cache per test session, and the shared data root when present."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_flame_cache(tmp_path_factory, monkeypatch, request):
    """Tests write builds and judgments to a throw-away cache, except model tests, which reuse the
    converted default model from the user's cache (converting it takes half a minute)."""
    if request.node.get_closest_marker("model") is None:
        monkeypatch.setenv("FLAME_CACHE", str(tmp_path_factory.getbasetemp() / "flame-cache"))
