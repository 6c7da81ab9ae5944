"""GAN inversion: the latent (and noise) whose image reconstructs a given real image.

Style-based G (StyleGAN2, appendix D of Karras et al. 2020, simplified): optimise one w, started at
``w_avg``, and the per-layer noise maps, with Adam at a learning rate that ramps up over the first 5 %
of the steps and down (cosine) over the last 25 %, and Gaussian noise added to w whose scale decays
to 0 over the first 75 % (so the search explores before it settles). The noise maps start at G's fixed
sampling noise and are renormalised to zero mean and unit variance after every step, so they cannot
carry the image themselves. A G without a
mapping network: optimise z (from 0, the prior's mode) the same way, without noise maps.

Loss: mean squared pixel error (images in [-1, 1]) plus ``feature_weight`` times the squared
distance of the fmnist classifier's features for 1 x 28 x 28 images (a perceptual term standing in
for the paper's LPIPS). The error reported is the RMS pixel error on the [0, 1] scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from gankit.errors import ConfigError


@dataclass
class Projection:
    latent: torch.Tensor  # w (1, w_dim) or z (1, z_dim)
    space: str  # "w" | "z"
    image: torch.Tensor  # float (1, C, H, W) in [-1, 1], the reconstruction
    error: float  # RMS pixel error on [0, 1]
    history: list[torch.Tensor] = field(default_factory=list)  # reconstructions along the way
    noise: list[torch.Tensor] | None = None


def _features(shape: tuple[int, ...]) -> Any:
    if tuple(shape) != (1, 28, 28):
        return None
    from gankit.metrics.extractors.fmnist import load_fmnist_net

    net, _ = load_fmnist_net()
    net.eval().requires_grad_(False)
    return lambda x: net.forward_features(((x + 1) / 2).clamp(0, 1))[0]


def _lr(step: int, steps: int, base: float) -> float:
    t = step / max(steps, 1)
    ramp = min(1.0, (1 - t) / 0.25)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return base * ramp * min(1.0, t / 0.05)


def project(gen: Any, target: torch.Tensor, steps: int = 300, lr: float = 0.1, feature_weight: float = 0.01,
            snapshots: int = 8, seed: int = 0) -> Projection:  # fmt: skip
    """Invert ``gen`` (a :func:`gankit.load` result) at ``target``, float (1, C, H, W) in [-1, 1]."""
    if steps < 1:
        raise ConfigError(f"--steps: at least 1, got {steps}.")
    shape = tuple(gen.signature["output_shape"])
    if tuple(target.shape[1:]) != shape:
        raise ConfigError(f"the image is {tuple(target.shape[1:])} after loading; this generator makes {shape} (C x H x W).")
    if gen.signature["num_classes"]:
        raise ConfigError("projection of a class-conditional generator is not supported yet; use an unconditional run.")
    target = target.float()
    G = gen.module.eval().requires_grad_(False)
    feats = _features(shape)
    g = torch.Generator().manual_seed(seed)
    style = hasattr(G, "mapping") and hasattr(G, "synthesis")
    noise: list[torch.Tensor] | None = None
    if style:
        with torch.no_grad():
            w_samples = G.mapping(torch.randn(2000, gen.signature["z_dim"], generator=g))
        w_std = float(((w_samples - w_samples.mean(0)).square().sum(1).mean()).sqrt())
        latent = w_samples.mean(0, keepdim=True).clone().requires_grad_(True)
        # start from G's own fixed noise (what it uses at sampling time), then let it move
        noise = [layer.noise.fixed.clone().requires_grad_(True) for layer in G.synthesis.layers]
        params = [latent, *noise]
    else:
        w_std = 1.0
        latent = torch.zeros(1, gen.signature["z_dim"], requires_grad=True)
        params = [latent]
    opt = torch.optim.Adam(params, betas=(0.9, 0.999), lr=lr)
    want = feats(target) if feats is not None else None
    history: list[torch.Tensor] = []
    at = {round((i + 1) * steps / max(snapshots, 1)) - 1 for i in range(max(snapshots, 1))}

    def render(lat: torch.Tensor) -> torch.Tensor:
        if style:
            return G.synthesis(lat[:, None].expand(-1, G.num_ws, -1), noise)
        return G(lat)

    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = _lr(step, steps, lr)
        explore = w_std * 0.05 * max(0.0, 1 - step / (0.75 * steps)) ** 2
        lat = latent + torch.randn(latent.shape, generator=g) * explore if style else latent
        img = render(lat)
        loss = (img - target).square().mean()
        if want is not None:
            loss = loss + feature_weight * (feats(img) - want).square().sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if noise is not None:  # keep the noise maps noise-like, as the paper does: zero mean, unit variance
            with torch.no_grad():
                for n in noise:
                    n.sub_(n.mean()).div_(n.std().clamp_min(1e-8))
        if step in at:
            with torch.no_grad():
                history.append(render(latent).detach().clone())
    with torch.no_grad():
        final = render(latent).clamp(-1, 1)  # what the image is once saved; real targets are in range anyway
        error = float(((final - target.clamp(-1, 1)) / 2).square().mean().sqrt())
    return Projection(latent.detach(), "w" if style else "z", final, error, history, [n.detach() for n in noise] if noise else None)


__all__ = ["Projection", "project"]
