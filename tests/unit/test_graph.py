"""Dependency graph: stable order, cycles and unknown names rejected, dependents found."""

import pytest

from provisioner.engine.graph import GraphError, build


def test_order_is_topological_and_stable():
    g = build([("rg", []), ("b", ["rg"]), ("a", ["rg"]), ("c", ["a", "b"])])
    assert g.order == ("rg", "b", "a", "c")
    assert g.delete_order == ("c", "a", "b", "rg")


def test_cycle_is_rejected():
    with pytest.raises(GraphError, match="cycle"):
        build([("a", ["b"]), ("b", ["a"])])


def test_unknown_dependency_is_rejected():
    with pytest.raises(GraphError, match="unknown"):
        build([("a", ["zzz"])])


def test_duplicate_names_rejected():
    with pytest.raises(GraphError, match="duplicate"):
        build([("a", []), ("a", [])])


def test_dependents_are_transitive():
    g = build([("rg", []), ("plan", ["rg"]), ("app", ["plan"]), ("kv", ["rg"])])
    assert g.dependents("plan") == {"app"}
    assert g.dependents("rg") == {"plan", "app", "kv"}
