"""Behaviour of ScheduleFreeAdamW around the math: errors, gradients, compile, DDP, BatchNorm."""

from __future__ import annotations

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from sfadamw.torch import ScheduleFreeAdamW, recompute_batchnorm_stats
from tests.torch_problems import batches, make_mlp, train


def test_gradient_is_not_modified():
    model = make_mlp()
    opt = ScheduleFreeAdamW(model.parameters(), weight_decay=0.1)
    xb, yb = next(batches(1))
    nn.functional.mse_loss(model(xb), yb).backward()
    grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    opt.step()
    after = [p.grad for p in model.parameters() if p.grad is not None]
    assert all(torch.equal(a, b) for a, b in zip(grads, after, strict=True))


def test_step_in_eval_mode_raises():
    model = make_mlp()
    opt = ScheduleFreeAdamW(model.parameters())
    opt.eval()
    with pytest.raises(RuntimeError, match=r"call optimizer.train\(\)"):
        opt.step()


def test_sparse_gradients_are_refused():
    emb = nn.Embedding(10, 4, sparse=True)
    opt = ScheduleFreeAdamW(emb.parameters())
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse gradients"):
        opt.step()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(lr=-1.0), "lr must be >= 0"),
        (dict(betas=(1.0, 0.9)), "beta1 must be in"),
        (dict(preset="nope"), "unknown preset"),
        (dict(decay_at="z"), "decay_at"),
        (dict(implementation="cuda"), "implementation must be"),
    ],
)
def test_bad_hyperparameters_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ScheduleFreeAdamW(make_mlp().parameters(), **kwargs)


def test_per_group_overrides_are_validated():
    model = make_mlp()
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        ScheduleFreeAdamW([{"params": model.parameters(), "weight_decay": -1.0}])


def test_evaluating_context_restores_train_mode():
    model = make_mlp()
    opt = ScheduleFreeAdamW(model.parameters())
    train(model, opt, batches(5))
    y = [p.detach().clone() for p in model.parameters()]
    with opt.evaluating():
        assert not opt.train_mode
        x = [p.detach().clone() for p in model.parameters()]
    assert opt.train_mode
    assert any(not torch.equal(a, b) for a, b in zip(x, y, strict=True))
    assert all(torch.allclose(p, a, atol=1e-6) for p, a in zip(model.parameters(), y, strict=True))


def test_compiled_model_trains_like_the_plain_one():
    """torch.compile wraps the module; its parameters are the same tensors."""
    plain, compiled_src = make_mlp(), make_mlp()
    compiled = torch.compile(compiled_src, backend="aot_eager")
    opt_a = ScheduleFreeAdamW(plain.parameters(), lr=0.01)
    opt_b = ScheduleFreeAdamW(compiled.parameters(), lr=0.01)
    train(plain, opt_a, batches(20))
    train(compiled, opt_b, batches(20))
    for a, b in zip(plain.parameters(), compiled_src.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def _ddp_worker(rank: int, world: int, port: int, queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    model = nn.parallel.DistributedDataParallel(make_mlp(frozen=False))
    opt = ScheduleFreeAdamW(model.parameters(), lr=0.01, weight_decay=0.01)
    for xb, yb in batches(10):
        shard = slice(rank * len(xb) // world, (rank + 1) * len(xb) // world)
        opt.zero_grad()
        nn.functional.mse_loss(model(xb[shard]), yb[shard]).backward()
        opt.step()
    opt.eval()
    if rank == 0:
        queue.put(
            [p.detach().numpy().copy() for p in model.module.parameters()]
        )  # numpy: no fd sharing
    dist.barrier()
    dist.destroy_process_group()


def test_ddp_two_processes_match_one_process_full_batch():
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = 29500 + os.getpid() % 1000
    procs = [ctx.Process(target=_ddp_worker, args=(r, 2, port, queue)) for r in range(2)]
    for p in procs:
        p.start()
    ddp_x = queue.get(timeout=120)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    model = make_mlp(frozen=False)
    opt = ScheduleFreeAdamW(model.parameters(), lr=0.01, weight_decay=0.01)
    train(model, opt, batches(10))
    opt.eval()
    for a, b in zip(model.parameters(), ddp_x, strict=True):
        torch.testing.assert_close(a.detach(), torch.from_numpy(b), rtol=1e-5, atol=1e-6)


def test_recompute_batchnorm_stats_gives_the_statistics_at_x():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 1))
    opt = ScheduleFreeAdamW(model.parameters(), lr=0.05)
    data = [(torch.randn(64, 4), torch.randn(64, 1)) for _ in range(30)]
    train(model, opt, data)
    opt.eval()
    model.eval()
    inputs = [xb for xb, _ in data[:5]]
    assert recompute_batchnorm_stats(model, inputs) == 5
    # independent: the mean and unbiased variance of the first layer's output at x, per batch
    with torch.no_grad():
        acts = [model[0](xb) for xb in inputs]
    mean = torch.stack([a.mean(0) for a in acts]).mean(0)
    var = torch.stack([a.var(0, unbiased=True) for a in acts]).mean(0)
    torch.testing.assert_close(model[1].running_mean, mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model[1].running_var, var, rtol=1e-5, atol=1e-6)
    assert model[1].momentum == 0.1 and not model.training


def test_recompute_batchnorm_stats_without_batchnorm_is_a_no_op():
    assert recompute_batchnorm_stats(make_mlp(), [torch.randn(2, 8)]) == 0
