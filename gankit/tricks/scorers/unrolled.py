"""Unrolled GAN (Metz et al. 2017, "Unrolled Generative Adversarial Networks", ICLR).

G is trained against the discriminator it *would* face after ``steps`` more D updates: the
updates are simulated on copies of D's weights and G's gradient flows through them (second-order
terms included), so G is penalised for moves that D would punish right away. This is the classic
cure for mode hopping on the 2D mixtures; it costs about ``2*steps`` extra D forward/backward
passes per G step (plus double backward), so use it with small (MLP) discriminators.

Choices:

* The simulated updates mirror D's optimizer (``optimizer: auto``): with Adam they continue from
  D's current Adam moments (exp_avg, exp_avg_sq, step), like the paper's reference code; otherwise
  plain SGD. ``lr: null`` uses D's current learning rate (``optim.d.lr`` after any decay).
  Weight decay is included; momentum (SGD/RMSprop), amsgrad and gradient clipping are not.
* Every simulated step reuses the last D phase's real batch (``ctx.real``) instead of drawing new
  data, so the data stream (and exact resume) is untouched; the fakes are G's current samples,
  *not* detached.
* Only the loss's ``d_loss`` is simulated: gradient penalties (wgan_gp's) and weight clipping
  (wgan) are left out of the unrolled steps.
* Buffers (BatchNorm statistics, spectral-norm vectors) are copied for the simulation, so the
  real D is never changed (weights, buffers or optimizer state); the copies are thrown away.
  A D without BatchNorm is recommended: with it, each simulated forward uses batch statistics.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch.func import functional_call

from gankit.errors import ConfigError
from gankit.tricks.base import TRICKS, StepContext, Trick, TrickEnv, one_score_replacer


@TRICKS.register("unrolled")
class Unrolled(Trick):
    kind = "scorer"
    scores_for_g = True  # replaces D(fake) in the G phase

    def __init__(self, steps: int = 5, lr: float | None = None, optimizer: Literal["auto", "adam", "sgd"] = "auto") -> None:
        if steps < 1:
            raise ConfigError(f"unrolled.steps: at least 1 simulated D step, got {steps} (the paper uses 5-10).")
        if lr is not None and lr <= 0:
            raise ConfigError(f"unrolled.lr: must be > 0 (or null for D's learning rate), got {lr}.")
        self.steps, self.lr, self.optimizer = steps, lr, optimizer
        self._opt: Any = None  # D's optimizer, for its lr and Adam moments

    def bind(self, env: TrickEnv) -> None:
        self._opt = env.optimizer_of["D"]
        d_name = env.optim_cfg_of["D"].name
        if self.optimizer == "adam" and d_name != "adam":
            raise ConfigError(
                f"unrolled.optimizer: 'adam' continues D's Adam moments, but optim.d.name is '{d_name}'; "
                "use optimizer: sgd (or auto)."
            )
        if self.optimizer == "auto":
            self.optimizer = "adam" if d_name == "adam" else "sgd"
        one_score_replacer(env.tricks, "unrolled")

    def _lr_and_group(self) -> tuple[float, dict[str, Any]]:
        group: dict[str, Any] = {}
        if self._opt is not None:
            group = self._opt.param_groups[0]
        lr = self.lr if self.lr is not None else group.get("lr")
        if lr is None:
            raise ConfigError("unrolled.lr: set it, or run inside the trainer so D's learning rate is known.")
        return float(lr), group

    def _adam_state(self, p: torch.nn.Parameter) -> tuple[torch.Tensor, torch.Tensor, float]:
        opt = getattr(self._opt, "optimizer", self._opt)
        st = opt.state.get(p, {}) if opt is not None else {}
        if "exp_avg" in st:
            return st["exp_avg"].detach(), st["exp_avg_sq"].detach(), float(st["step"])
        return torch.zeros_like(p), torch.zeros_like(p), 0.0

    def unrolled_params(self, D: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor, loss: Any) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """D's parameters after ``steps`` simulated updates, differentiable w.r.t. ``fake``; and the buffer copies."""
        lr, group = self._lr_and_group()
        named = dict(D.named_parameters())
        params = {n: p.detach().requires_grad_(True) for n, p in named.items()}
        buffers = {n: b.detach().clone() for n, b in D.named_buffers()}
        wd = float(group.get("weight_decay", 0.0))
        adam = self.optimizer == "adam"
        if adam:
            b1, b2 = group.get("betas", (0.9, 0.999))
            eps = float(group.get("eps", 1e-8))
            moments = {n: self._adam_state(p) for n, p in named.items()}
        real = real.detach()
        for _ in range(self.steps):
            real_s = functional_call(D, (params, buffers), (real,)).float()
            fake_s = functional_call(D, (params, buffers), (fake,)).float()
            d_loss = loss.d_loss(real_s, fake_s)
            grads = torch.autograd.grad(d_loss, list(params.values()), create_graph=True, allow_unused=True)
            new: dict[str, torch.Tensor] = {}
            for (n, p), g in zip(params.items(), grads):
                if g is None:
                    new[n] = p
                    continue
                if wd:
                    g = g + wd * p
                if adam:
                    m, v, t = moments[n]
                    t += 1
                    m = b1 * m + (1 - b1) * g
                    v = b2 * v + (1 - b2) * g * g
                    moments[n] = (m, v, t)
                    v_hat = (v / (1 - b2**t)).clamp_min(1e-30)  # no inf slope of sqrt at an exact 0
                    new[n] = p - lr * (m / (1 - b1**t)) / (v_hat.sqrt() + eps)
                else:
                    new[n] = p - lr * g
            params = new
        return params, buffers

    def g_scores(self, ctx: StepContext, fake: torch.Tensor) -> torch.Tensor | None:
        if ctx.real is None:
            return None
        params, buffers = self.unrolled_params(ctx.D, ctx.real, fake, ctx.loss)
        return functional_call(ctx.D, (params, buffers), (fake,))
