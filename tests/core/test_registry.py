import pytest

from flame.registry import Registry, UnknownNameError


def test_duplicate_name_raises():
    reg: Registry[int] = Registry("thing")
    reg.add("a_v1", 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.add("a_v1", 2)


def test_unknown_name_suggests_close_matches():
    reg: Registry[int] = Registry("task")
    reg.add("summeval_coherence_pointwise_v1", 1)
    with pytest.raises(UnknownNameError, match="did you mean summeval_coherence_pointwise_v1"):
        reg.get("summeval_coherense_pointwise_v1")


def test_isolated_restores_entries():
    reg: Registry[int] = Registry("thing")
    reg.add("keep_v1", 1)
    with reg.isolated():
        reg.add("temp_v1", 2)
        assert "temp_v1" in reg
    assert reg.names() == ["keep_v1"]
