import copy

import pytest
import torch
from torch import nn

from gankit.config import OptimizerConfig
from gankit.objectives import build_loss
from gankit.models import build_discriminator, build_generator
from gankit.tricks import TRICKS, TrickEnv


def _setup(bn=False):
    torch.manual_seed(0)
    G = build_generator("mlp", {"hidden": 16}, 4, (2,))
    D = build_discriminator("mlp", {"hidden": 16}, (2,))
    if bn:
        D.net.insert(2, torch.nn.BatchNorm1d(16))
    return G, D, torch.randn(32, 2), torch.randn(32, 4)


def _g_grad(G, D, real, z, reg, ctx_for):
    loss = build_loss("nonsaturating", {})
    G.zero_grad()
    fake = G(z)
    ctx = ctx_for(D, real=real, fake=fake, G=G, loss=loss)
    scores = reg.g_scores(ctx, fake) if reg is not None else D(fake)
    loss.g_loss(scores).backward()
    return torch.cat([p.grad.flatten() for p in G.parameters()])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_unrolling_leaves_d_untouched_and_changes_gs_gradient(ctx_for, optimizer):
    G, D, real, z = _setup(bn=True)
    before = {k: v.clone() for k, v in D.state_dict().items()}
    reg = TRICKS.build("unrolled", {"steps": 3, "lr": 0.05, "optimizer": optimizer})
    D.requires_grad_(False)  # as in the loop's G phase
    g_unrolled = _g_grad(G, D, real, z, reg, ctx_for)
    D.requires_grad_(True)
    for k, v in D.state_dict().items():
        assert torch.equal(v, before[k]), k  # weights and BatchNorm buffers
    assert all(p.grad is None for p in D.parameters())
    g_plain = _g_grad(G, D, real, z, None, ctx_for)
    assert torch.isfinite(g_unrolled).all()
    assert not torch.allclose(g_unrolled, g_plain, rtol=1e-3, atol=1e-6)


def test_zero_lr_unrolling_equals_the_plain_gradient(ctx_for):
    G, D, real, z = _setup()
    reg = TRICKS.build("unrolled", {"steps": 2, "lr": 1e-30, "optimizer": "sgd"})
    assert torch.allclose(_g_grad(G, D, real, z, reg, ctx_for), _g_grad(G, D, real, z, None, ctx_for), atol=1e-7)


def test_sgd_step_matches_a_real_d_update(ctx_for):
    """One simulated SGD step == one torch.optim.SGD step on the same batch."""
    G, D, real, z = _setup()
    loss = build_loss("nonsaturating", {})
    reg = TRICKS.build("unrolled", {"steps": 1, "lr": 0.1, "optimizer": "sgd"})
    fake = G(z).detach()
    params, _ = reg.unrolled_params(D, real, fake, loss)
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    loss.d_loss(D(real), D(fake)).backward()
    opt.step()
    for n, p in D.named_parameters():
        assert torch.allclose(params[n], p, atol=1e-6), n


def test_adam_mirror_continues_ds_moments(ctx_for):
    """Simulated Adam steps == real torch.optim.Adam steps that started from the same state."""
    G, D, real, z = _setup()
    loss = build_loss("nonsaturating", {})
    opt = torch.optim.Adam(D.parameters(), lr=0.01, betas=(0.5, 0.999))
    fake = G(z).detach()
    loss.d_loss(D(real), D(fake)).backward()
    opt.step()  # now D's Adam has moments
    reg = TRICKS.build("unrolled", {"steps": 2})
    reg.bind(TrickEnv(raw={"G": G, "D": D}, optimizer_of={"D": opt}, optim_cfg_of={"D": OptimizerConfig(name="adam", lr=0.01)}, tricks=[reg]))
    assert reg.optimizer == "adam"
    params, _ = reg.unrolled_params(D, real, fake, loss)
    for _ in range(2):
        opt.zero_grad()
        loss.d_loss(D(real), D(fake)).backward()
        opt.step()
    for n, p in D.named_parameters():
        assert torch.allclose(params[n], p, atol=1e-6), n


def _tiny_case():
    """A 2-parameter linear G (x = w z + b) and a 1-3-1 tanh MLP D, in float64."""
    torch.manual_seed(0)
    G = nn.Linear(1, 1).double()
    D = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1), nn.Flatten(0)).double()
    with torch.no_grad():
        G.weight.fill_(0.7)
        G.bias.fill_(-0.4)
    real = torch.randn(6, 1, dtype=torch.float64) + 1.0
    z = torch.randn(6, 1, dtype=torch.float64)
    return G, D, real, z


def _reference_objective(D, real, z, loss, theta, steps, lr, optimizer):
    """G's loss against D after ``steps`` real torch.optim updates on the batch of G_theta -- all float64."""
    w, b = theta
    fake = z * w + b
    Dk = copy.deepcopy(D).requires_grad_(True)
    opt = torch.optim.SGD(Dk.parameters(), lr=lr) if optimizer == "sgd" else torch.optim.Adam(Dk.parameters(), lr=lr, betas=(0.5, 0.999))
    for _ in range(steps):
        opt.zero_grad()
        loss.d_loss(Dk(real), Dk(fake)).backward()
        opt.step()
    with torch.no_grad():
        return loss.g_loss(Dk(fake)).item()


@pytest.mark.parametrize("steps,optimizer,lr", [(1, "sgd", 0.5), (2, "sgd", 0.5), (2, "adam", 0.05)])
def test_gradient_through_the_unrolled_d_matches_finite_differences(ctx_for, steps, optimizer, lr):
    """dL_G/dtheta_G through the unrolled D == central differences of the unrolled objective.

    The reference objective unrolls D with torch's own optimizer in float64, independently of the
    trick; the trick's scores pass through float32 (its mixed-precision upcast), far below 1e-5.
    """
    G, D, real, z = _tiny_case()
    loss = build_loss("nonsaturating", {})
    reg = TRICKS.build("unrolled", {"steps": steps, "lr": lr, "optimizer": optimizer})
    opt = torch.optim.SGD(D.parameters(), lr=lr) if optimizer == "sgd" else torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    reg.bind(TrickEnv(raw={"G": G, "D": D}, optimizer_of={"D": opt}, optim_cfg_of={"D": OptimizerConfig(name=optimizer, lr=lr)}, tricks=[reg]))
    D.requires_grad_(False)  # as in the G phase
    fake = G(z)
    ctx = ctx_for(D, real=real, fake=fake, G=G, loss=loss)
    gw, gb = torch.autograd.grad(loss.g_loss(reg.g_scores(ctx, fake)), [G.weight, G.bias])
    got = torch.stack([gw.flatten()[0], gb.flatten()[0]])

    theta, h = [0.7, -0.4], 1e-4
    fd = []
    for i in range(2):
        up, down = list(theta), list(theta)
        up[i] += h
        down[i] -= h
        f_up = _reference_objective(D, real, z, loss, up, steps, lr, optimizer)
        f_down = _reference_objective(D, real, z, loss, down, steps, lr, optimizer)
        fd.append((f_up - f_down) / (2 * h))
    fd = torch.tensor(fd, dtype=torch.float64)
    assert torch.allclose(got, fd, rtol=1e-5, atol=1e-9), (got, fd)

    # the check can tell: the gradient that ignores how the unrolled D depends on G's samples
    # (unrolled parameters held fixed) is clearly different
    params, buffers = reg.unrolled_params(D, real, fake.detach(), loss)
    frozen = {n: p.detach() for n, p in params.items()}
    fake2 = G(z)
    surrogate = torch.autograd.grad(loss.g_loss(torch.func.functional_call(D, (frozen, buffers), (fake2,))), [G.weight, G.bias])
    surrogate = torch.stack([g.flatten()[0] for g in surrogate])
    assert (surrogate - fd).abs().max() > 1e-3 * fd.abs().max(), (surrogate, fd)
    assert all(p.grad is None for p in D.parameters())


def test_unrolled_trains_on_the_ring(tmp_path):
    from gankit.config import validate
    from gankit.train.engine import train

    cfg = validate({"data": {"name": "ring8", "n_points": 512},
                    "model": {"z_dim": 4, "generator": {"name": "mlp", "hidden": 16}, "discriminator": {"name": "mlp", "hidden": 16}},
                    "regularizers": [{"name": "unrolled", "steps": 2}, {"name": "spectral_norm"}],
                    "train": {"batch_size": 64, "max_steps": 4}, "log": {"progress": False, "eval_every": 4}})  # fmt: skip
    assert train(cfg, tmp_path / "r", hooks=[]).step == 4
