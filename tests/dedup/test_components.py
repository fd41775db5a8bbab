"""Connected components: union-find and the star rounds against breadth-first search."""

import random
from collections import defaultdict

import pytest

from crawl2gpt.dedup.components import (
    ComponentsNotConverged,
    connected_components,
    distributed_components,
    large_star,
    small_star,
    union_find_components,
)


def bfs_labels(edges):
    """Brute force: node -> smallest node of its component."""
    adj = defaultdict(set)
    for u, v in edges:
        adj[u].add(v)
        adj[v].add(u)
    labels = {}
    for start in sorted(adj):
        if start in labels:
            continue
        seen, todo = {start}, [start]
        while todo:
            for v in adj[todo.pop()] - seen:
                seen.add(v)
                todo.append(v)
        for v in seen:
            labels[v] = min(seen)
    return labels


def random_graph(seed, nodes=300, edges=250):
    rng = random.Random(seed)
    ids = [f"{rng.getrandbits(64):016x}" for _ in range(nodes)]
    return [tuple(rng.sample(ids, 2)) for _ in range(edges)]


def test_star_steps_by_hand():
    # Large-star on node 3 with neighbours {1, 5, 7}: larger neighbours 5, 7 go to the minimum 1.
    assert list(large_star("3", ["5", "1", "7"])) == [("5", "1"), ("7", "1")]
    # Small-star on node 5 with smaller neighbours {1, 3}: 3 and 5 go to 1.
    assert list(small_star("5", ["3", "1"])) == [("3", "1"), ("5", "1")]


@pytest.mark.parametrize("seed", range(5))
def test_both_algorithms_equal_bfs(seed):
    edges = random_graph(seed)
    expected = bfs_labels(edges)
    assert union_find_components(edges) == expected
    assert distributed_components(edges, max_rounds=20) == expected


def test_long_chain_forced_distributed_and_non_convergence():
    ids = [f"n{i:04d}" for i in range(1000)]  # sorted ids along the chain: a slow case
    chain = list(zip(ids, ids[1:]))
    random.Random(3).shuffle(chain)
    expected = {i: "n0000" for i in ids}
    assert connected_components(chain, union_find_max_nodes=0, max_rounds=20) == expected
    with pytest.raises(ComponentsNotConverged, match="did not converge in 3 star rounds"):
        connected_components(chain, union_find_max_nodes=0, max_rounds=3)
    # Below the bound, union-find answers whatever max_rounds says.
    assert connected_components(chain, union_find_max_nodes=1000, max_rounds=1) == expected
