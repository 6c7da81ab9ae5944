"""Adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data", NeurIPS).

Like DiffAugment, every image D sees (real and fake, in every phase) passes through the same
random differentiable transforms, so G is never pushed to produce them. Each transform is applied
to each sample with probability ``p``, and ``p`` adapts: every ``interval`` D steps the overfitting
heuristic r_t = E[sign(D(x_real))] is compared with ``target`` (0.6) and p moves by
sign(r_t - target) * images / ``speed_images`` (p can go from 0 to 1 in ``speed_images`` images,
500k in the paper), clamped to [0, 1]. p and the running sums are checkpointed, so a resumed run
continues with the same p (the original code's resume reset it).

Transforms, in order (all differentiable; ``pipeline`` picks a subset):

* ``flip`` -- horizontal flip; ``rotate90`` -- rotation by 90, 180 or 270 degrees;
* ``translation`` -- integer shifts up to 1/8 of the side, zero fill;
* ``color`` -- brightness + N(0, 0.2), contrast x lognormal(0, (0.5 ln 2)^2), saturation (RGB) x lognormal(0, ln 2);
* ``cutout`` -- a zeroed square of half the side.

Under DDP each process adapts its own p from its own reals (no collective in a trick); they
follow the same statistics, so they stay close, but are not bit-identical across ranks.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from gankit.core.clock import Clock
from gankit.errors import ConfigError
from gankit.tricks.base import TRICKS, Assembly, StepContext, Trick
from gankit.tricks.inputs.diffaugment import translation

PIPELINE = ("flip", "rotate90", "translation", "color", "cutout")


def _chosen(x: torch.Tensor, p: float) -> torch.Tensor:
    """A (N, 1, 1, 1) mask: which samples get this transform."""
    return (torch.rand(x.shape[0], 1, 1, 1, device=x.device) < p).to(x.dtype)


def flip(x: torch.Tensor, p: float) -> torch.Tensor:
    m = _chosen(x, p)
    return m * x.flip(3) + (1 - m) * x


def rotate90(x: torch.Tensor, p: float) -> torch.Tensor:
    if x.shape[2] != x.shape[3]:
        return x
    k = torch.randint(1, 4, (x.shape[0], 1, 1, 1), device=x.device)
    m = _chosen(x, p)
    r1, r2, r3 = (torch.rot90(x, i, dims=(2, 3)) for i in (1, 2, 3))  # the whole batch at once, then pick
    rotated = torch.where(k == 1, r1, torch.where(k == 2, r2, r3))
    return m * rotated + (1 - m) * x


def color(x: torch.Tensor, p: float) -> torch.Tensor:
    n = x.shape[0]
    shape = (n, 1, 1, 1)
    x = x + _chosen(x, p) * torch.randn(shape, device=x.device, dtype=x.dtype) * 0.2
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    c = torch.exp(torch.randn(shape, device=x.device, dtype=x.dtype) * (0.5 * math.log(2)))
    m = _chosen(x, p)
    x = (x - mean) * (m * c + (1 - m)) + mean
    if x.shape[1] == 3:
        gray = x.mean(dim=1, keepdim=True)
        s = torch.exp(torch.randn(shape, device=x.device, dtype=x.dtype) * math.log(2))
        m = _chosen(x, p)
        x = (x - gray) * (m * s + (1 - m)) + gray
    return x


def cutout(x: torch.Tensor, p: float, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio)), max(1, int(w * ratio))
    cy = torch.randint(0, h, (n, 1, 1), device=x.device)
    cx = torch.randint(0, w, (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    hole = ((ys - cy).abs() <= ch // 2) & ((xs - cx).abs() <= cw // 2)
    m = _chosen(x, p)
    return x * (1 - m * hole.unsqueeze(1).to(x.dtype))


def augment(x: torch.Tensor, p: float, pipeline: Sequence[str] = PIPELINE) -> torch.Tensor:
    """Each transform of ``pipeline`` on each sample with probability ``p`` (p = 0: x itself)."""
    if p <= 0:
        return x
    for name in PIPELINE:
        if name not in pipeline:
            continue
        if name == "translation":
            m = _chosen(x, p)
            x = m * translation(x, 0.125) + (1 - m) * x
        else:
            x = {"flip": flip, "rotate90": rotate90, "color": color, "cutout": cutout}[name](x, p)
    return x


@TRICKS.register("ada")
class ADA(Trick):
    kind = "input"

    def __init__(self, target: float = 0.6, interval: int = 4, speed_images: float = 500_000, p: float = 0.0,
                 pipeline: Sequence[str] = PIPELINE, adaptive: bool = True) -> None:  # fmt: skip
        if not 0 < target < 1:
            raise ConfigError(f"ada.target: in (0, 1) (0.6 in the paper), got {target}.")
        if interval < 1 or speed_images <= 0 or not 0 <= p <= 1:
            raise ConfigError("ada: interval >= 1, speed_images > 0 and p in [0, 1] (paper: 4, 500000, 0).")
        bad = [x for x in pipeline if x not in PIPELINE]
        if bad:
            raise ConfigError(f"ada.pipeline: unknown transform(s) {bad}; valid: {', '.join(PIPELINE)}.")
        self.target, self.interval, self.speed, self.adaptive = target, interval, float(speed_images), adaptive
        self.pipeline = tuple(pipeline)
        self.p, self.sign_sum, self.count, self.d_steps = float(p), 0.0, 0, 0
        self._signs: torch.Tensor | None = None  # signs summed on the device since the last read

    def wrap(self, asm: Assembly) -> None:
        if len(asm.sample_shape) != 3:
            raise ConfigError("ada augments images; this data gives vectors (use instance_noise for 2D data).")

    def transform_input(self, x: torch.Tensor, clock: Clock) -> torch.Tensor:
        return augment(x, self.p, self.pipeline)

    def d_term(self, ctx: StepContext) -> torch.Tensor | None:
        if ctx.real_scores is not None and self.adaptive:  # the D phase: count the reals' signs (no sync here)
            s = ctx.real_scores.detach()
            self._signs = torch.sign(s).sum() if self._signs is None else self._signs + torch.sign(s).sum()
            self.count += int(s.numel())
        ctx.logs["ada_p"] = torch.tensor(self.p)
        return None

    def after_step(self, network: str, clock: Clock) -> None:
        if network != "D" or not self.adaptive:
            return
        self.d_steps += 1
        if self.d_steps % self.interval == 0 and self.count:
            self._settle()
            self.p = self.adjust(self.p, self.sign_sum / self.count, self.count)
            self.sign_sum, self.count = 0.0, 0

    def _settle(self) -> None:
        """Move the device-side sum into ``sign_sum``: one sync per interval, not per step."""
        if self._signs is not None:
            self.sign_sum += float(self._signs)
            self._signs = None

    def adjust(self, p: float, r_t: float, images: int) -> float:
        step = math.copysign(images / self.speed, r_t - self.target) if r_t != self.target else 0.0
        return min(1.0, max(0.0, p + step))

    def state_dict(self) -> dict[str, Any]:
        self._settle()
        return {"p": self.p, "sign_sum": self.sign_sum, "count": self.count, "d_steps": self.d_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            self.p, self.sign_sum = float(state["p"]), float(state["sign_sum"])
            self.count, self.d_steps = int(state["count"]), int(state["d_steps"])
            self._signs = None
