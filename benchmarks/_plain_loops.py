"""Hand-written PyTorch training steps, one per model family, the baselines of benchmarks/throughput.py.

Each builds the networks with gankit's own task builder (so the weights, spectral norm and every
layer are exactly what ``Engine`` trains) and nothing else of gankit: the data is a DataLoader over
an in-memory TensorDataset, the step is the loop a user would write from the paper, optimizers are
plain ``torch.optim.Adam`` with the recipe's lr/betas. bf16-mixed: ``torch.autocast("cpu")`` around
the network calls, losses in float32 (what Fabric's bf16-mixed does for gankit).
"""

from __future__ import annotations

import copy
import math
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config
from gankit.data.idx import load_idx_dataset
from gankit.tasks import build_task, task_options
from gankit.train.precision import resolve_precision

SHAPE = (1, 28, 28)


@dataclass
class PlainLoop:
    """One training step as a callable; ``nets`` and ``opts`` are exposed so tests can check what it trains."""

    step: Callable[[], None]
    nets: dict[str, nn.Module]
    opts: dict[str, torch.optim.Optimizer]

    def __call__(self) -> None:
        self.step()


def real_batches(root: str | Path | None, batch: int, labels: bool = False) -> Callable[[], Any]:
    """Shuffled real batches in [-1, 1], cycling over the train split (a fresh epoch when one runs out);
    ``labels``: (images, int64 classes) pairs."""
    imgs, ys = load_idx_dataset("fashion-mnist", "train", root)
    x = torch.from_numpy(imgs.copy()).float().div(127.5).sub(1).unsqueeze(1)
    data = (x, torch.from_numpy(ys.astype("int64"))) if labels else (x,)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*data), batch_size=batch, shuffle=True, drop_last=True)
    it = iter(loader)

    def next_batch() -> Any:
        nonlocal it
        try:
            got = next(it)
        except StopIteration:
            it = iter(loader)
            got = next(it)
        return tuple(got) if labels else got[0]

    return next_batch


def _autocast(cfg: Config) -> Callable[[], AbstractContextManager[Any]]:
    bf16 = resolve_precision(cfg.train.precision, "cpu") == "bf16-mixed"  # `auto` as the engine resolves it
    return lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)


def _adam(cfg: Config, name: str, net: nn.Module, ratio: float = 1.0) -> torch.optim.Adam:
    """The recipe's ``optim.<name>`` as torch's default Adam; ``ratio`` < 1 is lazy regularisation's lr*c, betas**c."""
    oc = cfg.optim[name]
    b1, b2 = oc.betas
    return torch.optim.Adam(net.parameters(), lr=oc.lr * ratio, betas=(b1**ratio, b2**ratio), weight_decay=oc.weight_decay)


def _nets(cfg: Config) -> tuple[nn.Module, nn.Module]:
    """G and D as gankit's task builds them (same seed, same wrappers such as spectral norm)."""
    nets = build_task(cfg, SHAPE).build()
    return nets["G"], nets["D"]


def _one_critic(cfg: Config) -> None:
    if (cfg.train.n_critic or 1) != 1:
        raise ValueError("the plain loops run one D step per G step; this recipe sets train.n_critic")


def dcgan(cfg: Config, root: str | Path | None = None) -> PlainLoop:
    """The PyTorch DCGAN tutorial's loop: BCEWithLogits, D's real and fake terms backpropagated
    separately, one G forward whose fakes D judges twice, G's step through a D that is not frozen."""
    _one_critic(cfg)
    G, D = _nets(cfg)
    opt_d, opt_g = _adam(cfg, "d", D), _adam(cfg, "g", G)
    next_batch, ac, z_dim = real_batches(root, cfg.train.batch_size), _autocast(cfg), cfg.model.z_dim

    def step() -> None:
        real = next_batch()
        b = real.shape[0]
        D.zero_grad()
        with ac():
            out = D(real)
        F.binary_cross_entropy_with_logits(out.float(), torch.ones(b)).backward()
        with ac():
            fake = G(torch.randn(b, z_dim))
            out = D(fake.detach())
        F.binary_cross_entropy_with_logits(out.float(), torch.zeros(b)).backward()
        opt_d.step()
        G.zero_grad()
        with ac():
            out = D(fake)
        F.binary_cross_entropy_with_logits(out.float(), torch.ones(b)).backward()
        opt_g.step()

    return PlainLoop(step, {"G": G, "D": D}, {"g": opt_g, "d": opt_d})


def resnet(cfg: Config, root: str | Path | None = None) -> PlainLoop:
    """SNGAN's loop (Miyato et al. 2018) as usually written: hinge loss relu(1 - D(x)) + relu(1 + D(G(z)))
    in one backward, G loss -D(G(z)).mean() on the same fakes, Adam per the recipe (TTUR)."""
    _one_critic(cfg)
    G, D = _nets(cfg)
    opt_d, opt_g = _adam(cfg, "d", D), _adam(cfg, "g", G)
    next_batch, ac, z_dim = real_batches(root, cfg.train.batch_size), _autocast(cfg), cfg.model.z_dim

    def step() -> None:
        real = next_batch()
        with ac():
            fake = G(torch.randn(real.shape[0], z_dim))
            real_s, fake_s = D(real).float(), D(fake.detach()).float()
        d_loss = F.relu(1 - real_s).mean() + F.relu(1 + fake_s).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        with ac():
            g_loss = -D(fake).float().mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()

    return PlainLoop(step, {"G": G, "D": D}, {"g": opt_g, "d": opt_d})


def _regularizer(cfg: Config, name: str) -> dict[str, Any] | None:
    return next((r.params for r in cfg.regularizers if r.name == name), None)


def _ema_updater(G: nn.Module, ema_cfg: dict[str, Any] | None, batch: int) -> tuple[nn.Module | None, Callable[[], None]]:
    """A frozen copy of G and its update: lerp towards G by 1 - decay (``decay``, or ``half_life_images``), buffers copied."""
    if ema_cfg is None:
        return None, lambda: None
    decay = float(ema_cfg["decay"]) if "decay" in ema_cfg else 0.5 ** (batch / float(ema_cfg["half_life_images"]))
    G_ema = copy.deepcopy(G).requires_grad_(False)

    @torch.no_grad()
    def update() -> None:
        for e, p in zip(G_ema.parameters(), G.parameters()):
            e.lerp_(p, 1.0 - decay)
        for e, b in zip(G_ema.buffers(), G.buffers()):
            e.copy_(b)

    return G_ema, update


def tacgan(cfg: Config, root: str | Path | None = None) -> PlainLoop:
    """TAC-GAN's loop (Gong et al. 2019) as written from the paper, on the projection D gankit builds: D's
    non-saturating loss on (image, label) pairs plus CE of its main class head on reals and of its twin head
    on fakes, one backward; G's fakes for the batch's own labels, G loss -log D + CE(main) - CE(twin) on the
    same fakes through an unfrozen D; an EMA of G updated after every G step (the recipe's decay)."""
    _one_critic(cfg)
    w = float(task_options(cfg, {"aux_weight": 1.0})["aux_weight"])
    G, D = _nets(cfg)
    opt_d, opt_g = _adam(cfg, "d", D), _adam(cfg, "g", G)
    next_batch, ac, z_dim = real_batches(root, cfg.train.batch_size, labels=True), _autocast(cfg), cfg.model.z_dim
    G_ema, ema_update = _ema_updater(G, _regularizer(cfg, "ema"), cfg.train.batch_size)

    def step() -> None:
        real, c = next_batch()
        with ac():
            fake = G(torch.randn(real.shape[0], z_dim), c)
            real_s, real_cls, _ = D(real, c, with_logits=True)
            fake_s, _, fake_twin = D(fake.detach(), c, with_logits=True)
        d_loss = (F.softplus(-real_s.float()).mean() + F.softplus(fake_s.float()).mean()
                  + w * (F.cross_entropy(real_cls.float(), c) + F.cross_entropy(fake_twin.float(), c)))  # fmt: skip
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        with ac():
            s, cls, twin = D(fake, c, with_logits=True)
        g_loss = F.softplus(-s.float()).mean() + w * (F.cross_entropy(cls.float(), c) - F.cross_entropy(twin.float(), c))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        ema_update()

    nets = {"G": G, "D": D} | ({"G_ema": G_ema} if G_ema is not None else {})
    return PlainLoop(step, nets, {"g": opt_g, "d": opt_d})


def stylegan2(cfg: Config, root: str | Path | None = None) -> PlainLoop:
    """StyleGAN2's loop (stylegan2-ada's phases, written out): D non-saturating logistic loss on fakes
    made without grad; lazy R1 every ``every`` steps on the same reals, x every; G non-saturating loss
    with D frozen; lazy path-length regularisation every ``pl_every`` steps on batch / ``pl_batch_shrink``,
    x pl_every; style mixing in every G call that trains; EMA of G after each G update. Each lazily
    regularised optimizer has lr*c and betas**c, c = every / (every + 1). The recipe's settings are read
    from the config (task options with the task's defaults), so an override reaches both loops."""
    from gankit.tasks.stylegan2 import StyleGAN2

    _one_critic(cfg)
    o = task_options(cfg, StyleGAN2.OPTIONS)
    if o["conditional"]:
        raise ValueError("the plain StyleGAN2 loop is unconditional")
    r1, ema_cfg = _regularizer(cfg, "r1"), _regularizer(cfg, "ema")
    gamma, r1_every = (float(r1.get("gamma", 10.0)), int(r1.get("every", 1))) if r1 is not None else (0.0, 1)
    mixing, pl_weight, pl_every = float(o["style_mixing"]), float(o["pl_weight"]), int(o["pl_every"])
    pl_decay, pl_shrink = float(o["pl_decay"]), int(o["pl_batch_shrink"])
    G, D = _nets(cfg)
    opt_d = _adam(cfg, "d", D, r1_every / (r1_every + 1) if r1_every > 1 else 1.0)
    opt_g = _adam(cfg, "g", G, pl_every / (pl_every + 1) if pl_weight > 0 else 1.0)
    batch, z_dim = cfg.train.batch_size, cfg.model.z_dim
    next_batch, ac = real_batches(root, batch), _autocast(cfg)
    if ema_cfg is not None and set(ema_cfg) - {"half_life_images"}:
        raise ValueError("the plain StyleGAN2 loop's EMA takes half_life_images only")
    G_ema, ema_update = _ema_updater(G, ema_cfg, batch)
    num_ws, count, pl_mean = G.num_ws, 0, torch.zeros(())

    def mix(n: int) -> dict[str, torch.Tensor]:
        """Style mixing: with probability ``mixing``, layers from a random cutoff on read a second z's w."""
        if mixing <= 0 or num_ws < 2:
            return {}
        cutoff = torch.randint(1, num_ws, ()).expand(n)
        keep = torch.rand(n) >= mixing
        return {"mix_z": torch.randn(n, z_dim), "mix_cutoff": torch.where(keep, torch.full_like(cutoff, num_ws), cutoff)}

    def g_update(loss: torch.Tensor) -> None:
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        ema_update()

    def step() -> None:
        nonlocal count, pl_mean
        real = next_batch()
        b = real.shape[0]
        with torch.no_grad(), ac():
            fake = G(torch.randn(b, z_dim), **mix(b), update_w_avg=True)
        with ac():
            real_s, fake_s = D(real).float(), D(fake).float()
        d_loss = F.softplus(-real_s).mean() + F.softplus(fake_s).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        if gamma > 0 and count % r1_every == 0:
            x = real.detach().requires_grad_(True)
            with ac():
                s = D(x).float()
            (grad,) = torch.autograd.grad(s.sum(), x, create_graph=True)
            r1_loss = 0.5 * gamma * grad.float().pow(2).flatten(1).sum(1).mean()
            opt_d.zero_grad()
            (r1_loss * r1_every).backward()
            opt_d.step()
        D.requires_grad_(False)  # no weight gradients for D in G's step
        try:
            with ac():
                g_s = D(G(torch.randn(batch, z_dim), **mix(batch), update_w_avg=True)).float()
            g_update(F.softplus(-g_s).mean())
        finally:
            D.requires_grad_(True)
        if pl_weight > 0 and count % pl_every == 0:
            n = max(1, b // pl_shrink)
            with ac():
                img, ws = G(torch.randn(n, z_dim), **mix(n), return_ws=True)
            y = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
            (grad,) = torch.autograd.grad((img * y).sum(), ws, create_graph=True)
            lengths = grad.float().square().sum(dim=2).mean(dim=1).sqrt()
            pl_mean = pl_mean.lerp(lengths.detach().mean(), pl_decay)
            g_update(pl_weight * (lengths - pl_mean).square().mean() * pl_every)
        count += 1

    nets = {"G": G, "D": D} | ({"G_ema": G_ema} if G_ema is not None else {})
    return PlainLoop(step, nets, {"g": opt_g, "d": opt_d})


LOOPS: dict[str, Callable[[Config, str | Path | None], PlainLoop]] = {
    "tacgan": tacgan, "dcgan": dcgan, "resnet": resnet, "stylegan2": stylegan2,
}
