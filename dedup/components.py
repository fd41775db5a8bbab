"""Connected components of the near-duplicate graph, labelled by their smallest node id.

Two interchangeable algorithms give the same labels:

- `union_find_components`: one process holds every edge; used below a size bound.
- Alternating large-star / small-star (Kiveris et al., "Connected Components in MapReduce and
  Beyond", SoCC 2014): each step is a function of one node and its grouped neighbours
  (`large_star`, `small_star`), so a Beam round is one GroupByKey and a FlatMap. A bounded number
  of rounds is unrolled; a converged graph is a set of stars (every edge joins a node to its
  component's minimum), which `star_violations` checks. `distributed_components` runs the same
  steps in memory (the reference for the Beam rounds and for tests).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

Edge = tuple[str, str]


class ComponentsNotConverged(RuntimeError):
    """The star rounds ended before every component became a star."""


def union_find_components(edges: Iterable[Edge]) -> dict[str, str]:
    """node -> smallest node id of its component (union by smallest root, path halving)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in edges:
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[max(ru, rv)] = min(ru, rv)
    return {node: find(node) for node in parent}


def both_directions(edge: Edge) -> Iterator[Edge]:
    """Large-star map: each undirected edge, keyed by both ends."""
    u, v = edge
    yield u, v
    yield v, u


def toward_larger(edge: Edge) -> Edge:
    """Small-star map: key the edge by its larger end."""
    u, v = edge
    return (u, v) if u > v else (v, u)


def large_star(node: str, neighbours: Iterable[str]) -> Iterator[Edge]:
    """Link every neighbour larger than `node` to the smallest of node and its neighbours."""
    nbrs = set(neighbours)
    smallest = min(nbrs | {node})
    for v in sorted(nbrs):
        if v > node:
            yield v, smallest


def small_star(node: str, smaller_neighbours: Iterable[str]) -> Iterator[Edge]:
    """Link node and its smaller neighbours to the smallest of them."""
    group = set(smaller_neighbours) | {node}
    smallest = min(group)
    for v in sorted(group):
        if v != smallest:
            yield v, smallest


def star_roles(edge: Edge) -> Iterator[tuple[str, tuple[str, str]]]:
    """Per edge of a star round's output: the child learns its parent, the parent its role."""
    child, parent = edge
    yield child, ("parent", parent)
    yield parent, ("child", child)


def star_violations(node: str, roles: Iterable[tuple[str, str]]) -> list[str]:
    """Why `node` is not part of a converged star (empty when it is)."""
    parents = {other for role, other in roles if role == "parent"}
    children = {other for role, other in roles if role == "child"}
    problems = []
    if len(parents) > 1:
        problems.append(f"{node} has {len(parents)} parents")
    if parents and children:
        problems.append(f"{node} has both a parent and children")
    if parents and min(parents) > node:
        problems.append(f"{node} points to a larger node")
    return problems


def star_labels(edge: Edge) -> Iterator[tuple[str, str]]:
    """node -> component label from one edge of a converged star."""
    child, parent = edge
    yield child, parent
    yield parent, parent


def _grouped(pairs: Iterable[Edge]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for key, value in pairs:
        groups[key].append(value)
    return groups


def star_round(edges: Iterable[Edge]) -> set[Edge]:
    """One large-star step then one small-star step, in memory."""
    large = {e for node, nbrs in _grouped(e for edge in edges for e in both_directions(edge)
                                          ).items() for e in large_star(node, nbrs)}
    return {e for node, nbrs in _grouped(toward_larger(edge) for edge in large).items()
            for e in small_star(node, nbrs)}


def distributed_components(edges: Iterable[Edge], max_rounds: int) -> dict[str, str]:
    """The star algorithm unrolled `max_rounds` times; raises if it did not converge."""
    current = {toward_larger(e) for e in edges if e[0] != e[1]}
    for _ in range(max_rounds):
        current = star_round(current)
    problems = [p for node, roles in _grouped(r for e in current for r in star_roles(e)).items()
                for p in star_violations(node, roles)]
    if problems:
        raise ComponentsNotConverged(not_converged_message(max_rounds, problems))
    return dict(label for e in sorted(current) for label in star_labels(e))


def not_converged_message(max_rounds: int, problems: list[str]) -> str:
    return (f"connected components did not converge in {max_rounds} star rounds "
            f"({len(problems)} problems, e.g. {problems[:3]}); raise fuzzy_dedup.max_rounds")


def connected_components(edges: list[Edge], union_find_max_nodes: int,
                         max_rounds: int) -> dict[str, str]:
    """Union-find when the graph has at most `union_find_max_nodes` nodes, else star rounds."""
    nodes = {n for e in edges for n in e}
    if len(nodes) <= union_find_max_nodes:
        return union_find_components(edges)
    return distributed_components(edges, max_rounds)
