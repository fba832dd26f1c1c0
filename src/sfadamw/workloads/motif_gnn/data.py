"""Synthetic graphs with planted motifs, and the ogbg metric (mean average precision).

Each graph is a random connected background (a random recursive tree on 8-19
nodes plus ``n // 4`` random extra edges) whose nodes get one of
``NUM_NODE_TYPES`` types uniformly at random. Each of the ``len(MOTIFS)`` typed
motifs (a small graph whose nodes carry fixed types) is planted independently
with probability ``PLANT_PROB``: its nodes are appended and joined to the
background by one or two random edges. The label vector says which motifs
were planted; each label is then flipped with probability ``LABEL_NOISE`` (the
noise keeps the attainable mAP below 1, as ogbg-molpcba's labels do). Node
features are the one-hot node types; edges are undirected.

Everything is generated from fixed per-split seeds, so the data is identical on
every machine and in both frameworks.
"""

from __future__ import annotations

import functools

import numpy as np

from sfadamw.workloads._shared_b import ArrayDataset

NUM_NODE_TYPES = 6
PLANT_PROB = 0.3
LABEL_NOISE = 0.05
#: (node types, undirected edges between the motif's own nodes)
MOTIFS: tuple[tuple[tuple[int, ...], tuple[tuple[int, int], ...]], ...] = (
    ((0, 1, 2), ((0, 1), (1, 2), (2, 0))),  # typed triangle
    ((3, 3, 3, 3), ((0, 1), (1, 2), (2, 3), (3, 0))),  # 4-cycle
    ((4, 5, 5, 5), ((0, 1), (0, 2), (0, 3))),  # star
    ((1, 2, 2, 1), ((0, 1), (1, 2), (2, 3))),  # typed path
    ((0, 0, 1, 1, 2), ((0, 1), (1, 2), (2, 3), (3, 4), (4, 0))),  # 5-cycle
    ((5, 5, 5, 5), ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))),  # 4-clique
    ((3, 4, 5), ((0, 1), (1, 2), (2, 0))),  # another typed triangle
    ((0, 3, 0, 3), ((0, 1), (1, 2), (2, 3), (3, 0), (0, 2))),  # diamond
)
NUM_LABELS = len(MOTIFS)
SPLIT_SIZES = {"train": 4096, "validation": 512, "test": 512}
_SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}


@functools.cache
def generate_split(split: str) -> dict[str, np.ndarray]:
    """Graphs of ``split`` as flat arrays.

    Returns ``node_types`` (total nodes,), ``node_offsets`` (G+1,), ``edges``
    (total edges, 2; node indices local to their graph), ``edge_offsets`` (G+1,)
    and ``labels`` (G, NUM_LABELS) in {0, 1}.
    """
    rng = np.random.default_rng(1000 + _SPLIT_SEEDS[split])
    node_types, edges, labels = [], [], []
    for _ in range(SPLIT_SIZES[split]):
        types, graph_edges, planted = _one_graph(rng)
        node_types.append(types)
        edges.append(graph_edges)
        flips = rng.random(NUM_LABELS) < LABEL_NOISE
        labels.append(np.logical_xor(planted, flips))
    return {
        "node_types": np.concatenate(node_types).astype(np.int64),
        "node_offsets": np.cumsum([0] + [len(t) for t in node_types]),
        "edges": np.concatenate(edges).astype(np.int64),
        "edge_offsets": np.cumsum([0] + [len(e) for e in edges]),
        "labels": np.stack(labels).astype(np.float32),
    }


def _one_graph(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = int(rng.integers(8, 20))
    types = list(rng.integers(0, NUM_NODE_TYPES, size=n))
    edges = [(i, int(rng.integers(0, i))) for i in range(1, n)]
    edges += [tuple(int(v) for v in rng.choice(n, 2, replace=False)) for _ in range(n // 4)]
    planted = rng.random(NUM_LABELS) < PLANT_PROB
    for motif_id in np.flatnonzero(planted):
        motif_types, motif_edges = MOTIFS[motif_id]
        start = len(types)
        types += motif_types
        edges += [(start + a, start + b) for a, b in motif_edges]
        for _ in range(int(rng.integers(1, 3))):
            edges.append((start + int(rng.integers(0, len(motif_types))), int(rng.integers(0, n))))
    return np.asarray(types), np.asarray(edges), planted


def dataset(split: str) -> ArrayDataset:
    """Batches: ``inputs`` = {node_features (N, T) float32 one-hot, edge_index (2, 2E)
    int64 with both directions of every edge, node_graph (N,) int64 graph of each
    node}; ``targets`` (B, L) float32; ``weights`` (B, L) float32 (all ones)."""
    data = generate_split("train" if split == "eval_train" else split)
    nodes, edges = data["node_offsets"], data["edge_offsets"]

    def collate(indices: np.ndarray) -> dict:
        types, edge_parts, graph_of_node = [], [], []
        offset = 0
        for position, g in enumerate(indices):
            graph_types = data["node_types"][nodes[g] : nodes[g + 1]]
            local = data["edges"][edges[g] : edges[g + 1]] + offset
            edge_parts += [local, local[:, ::-1]]
            types.append(graph_types)
            graph_of_node.append(np.full(len(graph_types), position, dtype=np.int64))
            offset += len(graph_types)
        node_types = np.concatenate(types)
        return {
            "inputs": {
                "node_features": np.eye(NUM_NODE_TYPES, dtype=np.float32)[node_types],
                "edge_index": np.ascontiguousarray(np.concatenate(edge_parts).T),
                "node_graph": np.concatenate(graph_of_node),
            },
            "targets": data["labels"][indices],
            "weights": np.ones((len(indices), NUM_LABELS), dtype=np.float32),
        }

    return ArrayDataset(num_examples=len(data["labels"]), collate=collate)


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """AP = sum_n (R_n - R_{n-1}) P_n over the distinct score thresholds, highest first.

    Tied scores form one threshold (the definition of
    ``sklearn.metrics.average_precision_score``).
    """
    order = np.argsort(-scores, kind="stable")
    labels, scores = labels[order], scores[order]
    tp = np.cumsum(labels)
    last_of_threshold = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp = tp[last_of_threshold]
    precision = tp / (last_of_threshold + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def mean_average_precision(labels: np.ndarray, scores: np.ndarray, mask: np.ndarray) -> float:
    """Mean over labels of the AP of the valid (mask = 1) examples, as ogbg computes it:
    only labels with at least one positive and one negative valid example count."""
    aps = []
    for k in range(labels.shape[1]):
        valid = mask[:, k] > 0
        y = labels[valid, k]
        if 0 < y.sum() < len(y):
            aps.append(average_precision(y, scores[valid, k]))
    return float(np.mean(aps)) if aps else float("nan")
