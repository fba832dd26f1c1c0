"""Tests of the workloads motif_gnn, numbers_transformer, synth_conformer, pystdlib_gpt.

Each workload/framework: deterministic data of the documented shapes, typed
parameters, loss_fn against the formula written out in numpy, dropout_rate
honoured, a few steps reduce the loss, eval returns the target metric on every
split. Metrics against independent references: mAP vs scikit-learn, BLEU vs a
hand-computed case and sacrebleu, WER and CTC decoding vs written-out examples,
CTC loss vs brute-force path enumeration, ppl = exp(mean NLL) recomputed from
the logits.
"""

from __future__ import annotations

import itertools
import math

import jax
import numpy as np
import optax
import pytest
import torch
from sklearn.metrics import average_precision_score

from sfadamw import spec
from sfadamw.workloads import available, get_workload
from sfadamw.workloads._shared_b import edit_distance, seed_from_rng
from sfadamw.workloads.motif_gnn import data as gnn_data
from sfadamw.workloads.numbers_transformer import data as nt_data
from sfadamw.workloads.pystdlib_gpt import data as gpt_data
from sfadamw.workloads.synth_conformer import data as sc_data

TRAIN, EVAL = spec.ForwardPassMode.TRAIN, spec.ForwardPassMode.EVAL
CASES = [
    ("motif_gnn", "pytorch"),
    ("numbers_transformer", "pytorch"),
    ("synth_conformer", "pytorch"),
    ("pystdlib_gpt", "pytorch"),
    ("pystdlib_gpt", "jax"),
]
METRICS = {
    "motif_gnn": "mean_average_precision",
    "numbers_transformer": "bleu",
    "synth_conformer": "wer",
    "pystdlib_gpt": "ppl",
}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """One thread: on a shared 2-core machine torch's 2-thread kernels are far slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _np(x) -> np.ndarray:
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _leaves(tree) -> list[np.ndarray]:
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in _leaves(tree[k])]
    if isinstance(tree, tuple | list):
        return [leaf for v in tree for leaf in _leaves(v)]
    return [_np(tree)]


def _logits(out):
    return out[0] if isinstance(out, tuple) else out


def _forward(workload, params, batch, mode, rng=0, dropout_rate=None):
    logits, _ = workload.model_fn(params, batch, None, mode, rng, False, dropout_rate)
    return _np(_logits(logits))


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def case(request):
    name, framework = request.param
    workload = get_workload(name, framework)
    params, _ = workload.init_model_fn(0)
    batch = next(workload._build_input_queue(0, "train", None, 4))
    return workload, params, batch


# --- registration and attributes -------------------------------------------------------
def test_registered_with_harness_attributes():
    found = available()
    for name, framework in CASES:
        assert framework in found[name]
        w = get_workload(name, framework)
        assert (w.name, w.framework, w.target_metric_name) == (name, framework, METRICS[name])
        assert w.target_metric_lower_is_better == (name in ("synth_conformer", "pystdlib_gpt"))
        assert w.max_allowed_runtime_sec > w.eval_period_time_sec > 0 and w.step_hint > 0
        for split, n in (("validation", w.num_validation_examples),
                         ("test", w.num_test_examples)):  # fmt: skip
            batches = list(w._build_input_queue(0, split, None, 10_000))
            assert len(batches) == 1 and len(_leaves(batches[0]["targets"])[0]) == n
    assert get_workload("pystdlib_gpt", "jax").algoperf_analog == "finewebedu_lm"


# --- data --------------------------------------------------------------------------
def test_data_deterministic_and_shuffled(case):
    workload, _, _ = case
    first = [next(workload._build_input_queue(7, "train", None, 8)) for _ in range(2)]
    for a, b in zip(_leaves(first[0]), _leaves(first[1]), strict=True):
        np.testing.assert_array_equal(a, b)
    other = next(workload._build_input_queue(8, "train", None, 8))
    assert any(
        a.shape != b.shape or not np.array_equal(a, b)
        for a, b in zip(_leaves(first[0]), _leaves(other), strict=False)
    )
    queue = workload._build_input_queue(0, "validation", None, 5, num_batches=3)
    assert len(list(queue)) == 3
    train = workload._build_input_queue(0, "train", None, 3)
    assert len([next(train) for _ in range(50)]) == 50  # repeats past any epoch end


def test_train_epochs_are_permutations():
    workload = get_workload("numbers_transformer", "pytorch")
    n = workload.num_train_examples
    queue = workload._build_input_queue(3, "train", None, n // 4)
    epoch = np.concatenate([_np(next(queue)["inputs"]) for _ in range(4)])
    full = np.concatenate([_np(b["inputs"]) for b in workload._build_input_queue(
        0, "eval_train", None, 4096, num_examples=n)])  # fmt: skip
    order = np.lexsort(epoch.T[::-1])
    np.testing.assert_array_equal(epoch[order], full[np.lexsort(full.T[::-1])])


def test_batch_shapes():
    g = next(get_workload("motif_gnn", "pytorch")._build_input_queue(0, "train", None, 6))
    nodes = g["inputs"]["node_features"]
    assert nodes.shape[1] == gnn_data.NUM_NODE_TYPES and torch.all(nodes.sum(1) == 1)
    assert g["inputs"]["edge_index"].shape[0] == 2 and g["targets"].shape == (6, 8)
    assert int(g["inputs"]["node_graph"].max()) == 5
    t = next(get_workload("numbers_transformer", "pytorch")._build_input_queue(0, "test", None, 6))
    assert t["inputs"].shape == (6, 24) and t["targets"].shape == (6, 32)
    np.testing.assert_array_equal(_np(t["weights"]), _np(t["targets"] != 0))
    s = next(get_workload("synth_conformer", "pytorch")._build_input_queue(0, "train", None, 6))
    (feats, feat_pad), (labels, label_pad) = s["inputs"], s["targets"]
    assert feats.shape[0] == 6 and feats.shape[2] == sc_data.NUM_BINS
    assert feats.shape[1] % sc_data.TRIM_MULTIPLE == 0 and feat_pad.shape == feats.shape[:2]
    assert labels.shape == label_pad.shape == (6, sc_data.MAX_LABELS)
    assert torch.all(feats[feat_pad.bool()] == 0)
    jax_batch = next(get_workload("pystdlib_gpt", "jax")._build_input_queue(5, "train", None, 6))
    torch_batch = next(
        get_workload("pystdlib_gpt", "pytorch")._build_input_queue(5, "train", None, 6)
    )
    assert jax_batch["inputs"].shape == (6, gpt_data.CONTEXT)
    for key in ("inputs", "targets"):  # the two frameworks read the same batches
        np.testing.assert_array_equal(jax_batch[key], _np(torch_batch[key]))
    np.testing.assert_array_equal(jax_batch["inputs"][:, 1:], jax_batch["targets"][:, :-1])


def test_lm_corpus_is_the_stdlib_source():
    import textwrap

    with open(textwrap.__file__, "rb") as f:
        source = np.frombuffer(f.read(), dtype=np.uint8)
    windows = gpt_data.windows("validation")
    stream = windows.ravel()
    start = stream.tobytes().index(source[:200].tobytes())
    np.testing.assert_array_equal(stream[start : start + 1000], source[:1000])


def test_seed_from_rng_accepts_ints_and_keys():
    assert seed_from_rng(5) == 5
    a, b = jax.random.split(jax.random.PRNGKey(0))
    assert seed_from_rng(a) != seed_from_rng(b)
    assert seed_from_rng(np.asarray(a)) == seed_from_rng(a)


# --- parameters --------------------------------------------------------------------
def test_param_shapes_and_types(case):
    workload, params, _ = case
    if workload.framework == "pytorch":
        named = dict(params.named_parameters())
        assert set(workload.model_params_types) == set(named)
        assert workload.param_shapes == {k: tuple(v.shape) for k, v in named.items()}
        assert any(workload.is_output_params(k) for k in named)
        assert not all(workload.is_output_params(k) for k in named)
    else:
        shapes = jax.tree.map(lambda p: tuple(p.shape), params)
        assert workload.param_shapes == shapes
        assert jax.tree.structure(workload.model_params_types) == jax.tree.structure(params)
        assert workload.is_output_params(("head", "kernel"))
    types = set(_leaves_types(workload.model_params_types))
    assert spec.ParameterType.WEIGHT in types and spec.ParameterType.BIAS in types


def _leaves_types(tree):
    if isinstance(tree, dict):
        for v in tree.values():
            yield from _leaves_types(v)
    else:
        yield tree


def test_gpt_frameworks_have_the_same_architecture():
    torch_w, jax_w = get_workload("pystdlib_gpt", "pytorch"), get_workload("pystdlib_gpt", "jax")
    torch_params, _ = torch_w.init_model_fn(0)
    jax_params, _ = jax_w.init_model_fn(0)
    torch_sizes = sorted(p.numel() for p in torch_params.parameters())
    jax_sizes = sorted(int(np.prod(s)) for s in _shapes(jax_w.param_shapes))
    assert torch_sizes == jax_sizes
    assert sorted(t.name for t in torch_w.model_params_types.values()) == sorted(
        t.name for t in _leaves_types(jax_w.model_params_types)
    )


def _shapes(tree):
    if isinstance(tree, dict):
        for v in tree.values():
            yield from _shapes(v)
    else:
        yield tree


# --- loss_fn against written-out formulas -------------------------------------------------
def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


@pytest.mark.parametrize(
    "name,framework",
    [("numbers_transformer", "pytorch"), ("pystdlib_gpt", "pytorch"), ("pystdlib_gpt", "jax")],
)
def test_softmax_cross_entropy_formula(name, framework):
    workload = get_workload(name, framework)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 7)).astype(np.float32)
    labels = rng.integers(0, 7, size=(3, 5)).astype(np.int32)
    mask = (rng.random((3, 5)) > 0.3).astype(np.float32)
    ls = 0.2
    q = (1 - ls) * np.eye(7)[labels] + ls / 7
    expected = -(q * _log_softmax(logits)).sum(-1) * mask
    as_array = torch.from_numpy if framework == "pytorch" else np.asarray
    out = workload.loss_fn(as_array(labels), as_array(logits), as_array(mask), ls)
    np.testing.assert_allclose(_np(out["per_example"]), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(out["summed"]), expected.sum(), rtol=1e-5)
    assert float(out["n_valid_examples"]) == mask.sum()


def test_sigmoid_cross_entropy_formula():
    workload = get_workload("motif_gnn", "pytorch")
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 8)) * 3
    labels = rng.integers(0, 2, size=(4, 8)).astype(np.float64)
    mask = (rng.random((4, 8)) > 0.2).astype(np.float64)
    ls = 0.1
    t = labels * (1 - ls) + ls / 2
    p = 1 / (1 + np.exp(-logits))
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p)) * mask
    out = workload.loss_fn(torch.tensor(labels), torch.tensor(logits), torch.tensor(mask), ls)
    np.testing.assert_allclose(_np(out["per_example"]), expected, rtol=1e-9)
    assert float(out["n_valid_examples"]) == mask.sum()


def test_ctc_loss_matches_brute_force_path_sum():
    """-log sum over all frame paths that collapse (merge repeats, drop blanks) to the label."""
    workload = get_workload("synth_conformer", "pytorch")
    rng = np.random.default_rng(2)
    T, V = 4, 4
    logits = rng.normal(size=(2, T, V))
    label_rows = [[1, 1], [2, 3]]
    logit_pad = np.array([[0, 0, 0, 0], [0, 0, 0, 1]], dtype=np.float64)  # 2nd: 3 frames
    log_p = _log_softmax(logits)
    expected = []
    for b, label in enumerate(label_rows):
        frames = int((1 - logit_pad[b]).sum())
        total = sum(
            math.exp(sum(log_p[b, t, s] for t, s in enumerate(path)))
            for path in itertools.product(range(V), repeat=frames)
            if sc_data.ctc_greedy(np.array(path), frames) == label
        )
        expected.append(-math.log(total))
    labels = torch.tensor([[1, 1, 0], [2, 3, 0]])
    label_pad = torch.tensor([[0.0, 0, 1], [0, 0, 1]])
    out = workload.loss_fn(
        (labels, label_pad), (torch.tensor(logits), torch.tensor(logit_pad)), None
    )
    np.testing.assert_allclose(_np(out["per_example"]), expected, rtol=1e-5)
    assert float(out["n_valid_examples"]) == 2


# --- dropout and training ------------------------------------------------------------
def test_dropout_rate_is_honoured(case):
    workload, params, batch = case
    if workload.framework == "jax":
        r1, r2 = jax.random.PRNGKey(1), jax.random.PRNGKey(2)
    else:
        r1, r2 = 1, 2
    zero = [_forward(workload, params, batch, TRAIN, r, 0.0) for r in (r1, r2)]
    np.testing.assert_array_equal(zero[0], zero[1])
    np.testing.assert_allclose(zero[0], _forward(workload, params, batch, EVAL, r1, 0.5),
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    half = [_forward(workload, params, batch, TRAIN, r, 0.5) for r in (r1, r2)]
    assert not np.allclose(half[0], half[1])
    assert not np.allclose(half[0], zero[0])


def test_a_few_steps_reduce_the_loss(case):
    workload, _, batch = case
    params, _ = workload.init_model_fn(1)
    if workload.framework == "pytorch":
        optimizer = torch.optim.Adam(params.parameters(), lr=3e-3)

        def loss_value():
            logits, _ = workload.model_fn(params, batch, None, TRAIN, 0, True, 0.0)
            out = workload.loss_fn(batch["targets"], logits, batch.get("weights"))
            return out["summed"] / out["n_valid_examples"]

        losses = []
        for _ in range(8):
            loss = loss_value()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    else:
        optimizer = optax.adam(3e-3)
        state = optimizer.init(params)

        def loss_value(p):
            logits, _ = workload.model_fn(p, batch, None, TRAIN, jax.random.PRNGKey(0), True, 0.0)
            out = workload.loss_fn(batch["targets"], logits)
            return out["summed"] / out["n_valid_examples"]

        step_fn = jax.jit(jax.value_and_grad(loss_value))
        losses = []
        for _ in range(8):
            loss, grads = step_fn(params)
            updates, state = optimizer.update(grads, state, params)
            params = optax.apply_updates(params, updates)
            losses.append(float(loss))
    assert losses[-1] < 0.9 * losses[0], losses


def test_eval_returns_the_target_metric(case):
    workload, params, _ = case
    small = type(workload)()
    small.num_eval_train_examples = small.num_validation_examples = 12
    small.num_test_examples = 12
    results = small.eval_model(8, params, None, 0, None)
    metric = workload.target_metric_name
    for prefix in ("train", "validation", "test"):
        assert math.isfinite(results[f"{prefix}/{metric}"])
        assert math.isfinite(results[f"{prefix}/loss"]) and results[f"{prefix}/loss"] > 0
    assert isinstance(small.has_reached_validation_target(results), bool)


# --- metrics against independent references ----------------------------------------------
def test_average_precision_matches_sklearn_with_ties():
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.integers(0, 2, 40)
        y[0], y[1] = 0, 1
        scores = rng.integers(0, 6, 40) / 5.0  # many ties
        assert gnn_data.average_precision(y, scores) == pytest.approx(
            average_precision_score(y, scores), abs=1e-12
        )


def test_mean_average_precision_skips_single_class_labels_and_masked():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, (50, 4)).astype(float)
    labels[:, 2] = 1.0  # only positives: excluded, as in ogbg
    scores = rng.random((50, 4))
    mask = (rng.random((50, 4)) > 0.1).astype(float)
    expected = np.mean([
        average_precision_score(labels[mask[:, k] > 0, k], scores[mask[:, k] > 0, k])
        for k in (0, 1, 3)
    ])  # fmt: skip
    assert gnn_data.mean_average_precision(labels, scores, mask) == pytest.approx(expected)


def test_motif_gnn_eval_map_is_sklearn_map_of_the_model_scores():
    workload = get_workload("motif_gnn", "pytorch")
    params, _ = workload.init_model_fn(0)
    batch = next(workload._build_input_queue(0, "validation", None, 512))
    scores = torch.sigmoid(workload.model_fn(params, batch, None, EVAL, 0, False)[0]).numpy()
    labels = batch["targets"].numpy()
    expected = np.mean([average_precision_score(labels[:, k], scores[:, k]) for k in range(8)])
    got = workload._eval_model_on_split("validation", 512, 512, params, None, 0, None)
    assert got["mean_average_precision"] == pytest.approx(expected)


def test_bleu_hand_computed_case():
    # Hypothesis "a b c d" vs reference "a b c e": precisions 3/4, 2/3, 1/2 and, with
    # sacrebleu's exp smoothing of the zero 4-gram count, 1/(2*1); no brevity penalty.
    expected = 100 * (3 / 4 * 2 / 3 * 1 / 2 * 1 / 2) ** 0.25
    assert nt_data.bleu(["a b c d"], ["a b c e"]) == pytest.approx(expected, abs=1e-2)
    same = "deux cent quatre-vingts millions un"
    assert nt_data.bleu([same], [same]) == pytest.approx(100.0)


def test_number_words_written_out():
    cases = {
        71: ("seventy-one", "soixante et onze"),
        80: ("eighty", "quatre-vingts"),
        81: ("eighty-one", "quatre-vingt-un"),
        99: ("ninety-nine", "quatre-vingt-dix-neuf"),
        200: ("two hundred", "deux cents"),
        201: ("two hundred one", "deux cent un"),
        1000: ("one thousand", "mille"),
        80_000: ("eighty thousand", "quatre-vingt mille"),
        2_000_021: ("two million twenty-one", "deux millions vingt et un"),
        280_000_001: ("two hundred eighty million one", "deux cent quatre-vingts millions un"),
    }
    for n, (en, fr) in cases.items():
        assert (nt_data.english(n), nt_data.french(n)) == (en, fr)
        ids = nt_data.encode(fr)
        assert ids[-1] == nt_data.EOS and nt_data.decode(ids + [0, 0]) == fr


def test_numbers_eval_bleu_is_sacrebleu_of_greedy_decodes():
    import sacrebleu

    workload = get_workload("numbers_transformer", "pytorch")
    params, _ = workload.init_model_fn(0)
    batch = next(workload._build_input_queue(0, "test", None, 8))
    params.eval()
    decoded = params.greedy_decode(batch["inputs"].long(), nt_data.TARGET_LENGTH)
    hyps = [nt_data.decode(row) for row in decoded.tolist()]
    refs = [nt_data.french(int(n)) for n in nt_data.split_numbers()["test"][:8]]
    expected = sacrebleu.corpus_bleu(hyps, [refs]).score
    got = workload._eval_model_on_split("test", 8, 8, params, None, 0, None)
    assert got["bleu"] == pytest.approx(expected)


def test_edit_distance_and_wer_written_out():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance([], ["a", "b"]) == 2
    # utterance 1: "de" deleted (1 error / 3 words); utterance 2: "c" inserted (1 / 2).
    refs = [["abc", "de", "f"], ["a", "b"]]
    hyps = [["abc", "f"], ["a", "c", "b"]]
    assert sc_data.word_error_rate(refs, hyps) == pytest.approx(2 / 5)


def test_ctc_greedy_and_words_written_out():
    path = np.array([0, 2, 2, 0, 2, 1, 1, 3, 0, 4])
    assert sc_data.ctc_greedy(path, 9) == [2, 2, 1, 3]  # last frame is padding
    assert sc_data.words([2, 2, 1, 3, 1, 4]) == ["aa", "b", "c"]


@pytest.mark.parametrize("framework", ["pytorch", "jax"])
def test_ppl_is_exp_of_mean_nll(framework):
    workload = get_workload("pystdlib_gpt", framework)
    params, _ = workload.init_model_fn(0)
    batch = next(workload._build_input_queue(0, "validation", None, 16))
    logits = _forward(workload, params, batch, EVAL)
    targets = _np(batch["targets"])
    log_p = _log_softmax(logits.astype(np.float64))
    nll = -np.take_along_axis(log_p, targets[..., None].astype(np.int64), -1).mean()
    got = workload._eval_model_on_split("validation", 16, 16, params, None, 0, None)
    assert got["ppl"] == pytest.approx(math.exp(nll), rel=1e-4)
    assert got["loss"] == pytest.approx(nll, rel=1e-4)


def test_settings_match_the_committed_calibration_record():
    """Targets, budget, eval period and step_hint are the calibration script's output."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "results/benchmarks/calibrate_workloads_b.json"
    record = json.loads(path.read_text())
    for name, framework in CASES:
        w, calibrated = get_workload(name, framework), record[name]
        for key in ("validation_target_value", "test_target_value", "step_hint",
                    "max_allowed_runtime_sec", "eval_period_time_sec"):  # fmt: skip
            assert getattr(w, key) == calibrated[key], (name, key)
        best = min if w.target_metric_lower_is_better else max
        tuned = [r for r in calibrated["runs"] if r["lr"] == calibrated["tuned_lr"]]
        assert len(tuned) == 2  # the tuned learning rate, two seeds, both reach the target
        for run in tuned:
            assert w._reached(
                best(e["validation"] for e in run["evals"]), w.validation_target_value
            )


def test_greedy_decode_is_the_teacher_forced_argmax():
    """Greedy (cached, incremental) decodes are a fixed point of the full decoder's argmax."""
    workload = get_workload("numbers_transformer", "pytorch")
    model, _ = workload.init_model_fn(0)
    queue = workload._build_input_queue(0, "train", None, 32)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(30):  # enough training that decodes end in EOS at varied lengths
        batch = next(queue)
        logits, _ = workload.model_fn(model, batch, None, TRAIN, 0, True, 0.0)
        loss = workload.loss_fn(batch["targets"], logits, batch["weights"])
        optimizer.zero_grad()
        (loss["summed"] / loss["n_valid_examples"]).backward()
        optimizer.step()
    model.eval()
    src = batch["inputs"].long()
    decoded = model.greedy_decode(src, nt_data.TARGET_LENGTH)
    with torch.no_grad():
        forced = model(src, decoded).argmax(-1)  # position t sees decoded[:t]
    for row, full in zip(decoded.tolist(), forced.tolist(), strict=True):
        end = row.index(nt_data.EOS) + 1 if nt_data.EOS in row else len(row)
        assert row[:end] == full[:end]
