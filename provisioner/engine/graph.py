"""Dependency validation and stable topological order of steps (graphlib); reverse order for deletes."""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


class GraphError(ValueError):
    pass


@dataclass(frozen=True)
class Graph:
    order: tuple[str, ...]  # dependencies first; ties keep declaration order
    deps: Mapping[str, tuple[str, ...]]

    def dependents(self, name: str) -> set[str]:
        """Every step that needs `name`, directly or transitively (skipped when `name` fails)."""
        out: set[str] = set()
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for other, needs in self.deps.items():
                if current in needs and other not in out:
                    out.add(other)
                    frontier.append(other)
        return out

    @property
    def delete_order(self) -> tuple[str, ...]:
        return tuple(reversed(self.order))


def build(edges: Sequence[tuple[str, Iterable[str]]]) -> Graph:
    """`edges` is [(step, depends_on)] in declaration order. Unknown dependencies and cycles are errors."""
    names = [name for name, _ in edges]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise GraphError(f"duplicate step names: {', '.join(dupes)}")
    known = set(names)
    deps: dict[str, tuple[str, ...]] = {}
    for name, needs in edges:
        needs = tuple(needs)
        missing = [n for n in needs if n not in known]
        if missing:
            raise GraphError(f"step {name} depends on unknown step(s): {', '.join(missing)}")
        deps[name] = needs
    position = {name: i for i, name in enumerate(names)}
    sorter = graphlib.TopologicalSorter(deps)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise GraphError(f"dependency cycle: {' -> '.join(exc.args[1])}") from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        order.extend(ready)
        sorter.done(*ready)
    return Graph(tuple(order), deps)
