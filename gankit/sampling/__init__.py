"""Sampling that uses the run's discriminator to reject G's bad samples: DRS and MH-GAN.

    from gankit.sampling import rejection_sample
    r = rejection_sample("runs/demo", 2500, "drs")          # or "mh"; gamma=0.0 for exact DRS
    r.samples, r.acceptance_rate, r.details["held_out"]

Both methods read D's recalibrated logit (:mod:`.calibration`) as log p_data / p_g: DRS
(:mod:`.drs`, Azadi et al. 2019) accepts each proposal of G independently, MH-GAN (:mod:`.mh`,
Turner et al. 2019) runs an independence Metropolis-Hastings chain over G's proposals. D is
rebuilt beside G from the checkpoint (:mod:`.critic`); the calibration data is held-out real data
(:mod:`.heldout`). ``docs/sampling.md`` explains the choices.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from gankit.errors import ConfigError, GankitError
from gankit.inference import Inference
from gankit.sampling.calibration import Calibration, fit_logistic
from gankit.sampling.critic import Critic, NoDiscriminator, load_critic
from gankit.sampling.drs import DRS, EPS, GAMMA_PERCENTILE
from gankit.sampling.heldout import HeldOut, load_held_out
from gankit.sampling.mh import CHAIN_LENGTH, MAX_RESTARTS, MH
from gankit.utils.images import to_uint8

METHODS = ("drs", "mh")
CALIBRATION_N = 5000
BURN_IN = 10_000
#: Burn-in samples per class at least, for a conditional run (each class has its own bound).
MIN_CLASS_BURN_IN = 1000


@dataclass
class RejectionResult:
    samples: torch.Tensor  # uint8 N x C x H x W, or float32 N x D for 2D points
    labels: torch.Tensor | None  # int64 N for a conditional run
    proposed: int  # samples G proposed (burn-in and calibration not counted)
    accepted: int  # DRS: samples kept; MH: proposals the chains moved to
    acceptance_rate: float
    method: str
    gamma: float | None  # DRS's gamma as used (None for MH)
    details: dict[str, Any] = field(default_factory=dict)


def _seed(seed: int, what: str) -> int:
    return int.from_bytes(hashlib.sha256(f"gankit-sampling:{seed}:{what}".encode()).digest()[:8], "little")


class Proposer:
    """G's samples with D's calibrated logits, in units of ``critic.pack`` samples; seeded, so reproducible."""

    def __init__(self, gen: Inference, critic: Critic, seed: int, calibration: Calibration | None = None,
                 device: str | torch.device = "cpu") -> None:  # fmt: skip
        self.gen, self.critic, self.calibration, self.device = gen, critic, calibration, device
        self.g = torch.Generator().manual_seed(_seed(seed, "z"))
        self.shape = tuple(gen.signature["output_shape"])

    def raw(self, n_units: int, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(samples (n_units * pack, ...) float, D's raw scores (n_units,))."""
        n = n_units * self.critic.pack
        m = -(-n // self.critic.chunk) * self.critic.chunk if self.critic.batch_dependent else n  # full batches only
        z = torch.randn(m, self.gen.signature["z_dim"], generator=self.g)
        c = None
        if labels is not None:
            c = torch.cat([labels, labels[torch.arange(m - n) % len(labels)]]) if m > n else labels
        x = self.gen.generate(z, c, device=self.device)
        return x[:n], self.critic.score(x, c, self.device)[:n_units]

    def __call__(self, n_units: int, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        x, s = self.raw(n_units, labels)
        logits = self.calibration(s) if self.calibration is not None else s
        return x.reshape(n_units, self.critic.pack, *self.shape), logits


def _real_units(critic: Critic, held: HeldOut) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Held-out samples cut to whole units (and whole batches for a batch-dependent D): (x, c)."""
    unit = critic.chunk if critic.batch_dependent else critic.pack
    n = len(held.x) // unit * unit
    if n == 0:
        raise ConfigError(f"calibration: D scores {unit} real samples at a time, but only {len(held.x)} held-out samples are available.")
    return held.x[:n], (held.c[:n] if held.c is not None else None)


def calibrate(critic: Critic, proposer: Proposer, held: HeldOut) -> Calibration:
    """Fit D~ = a s + b on held-out real samples against as many new samples (with the same labels)."""
    x, c = _real_units(critic, held)
    real = critic.score(x, c, proposer.device)
    _, fake = proposer.raw(len(real), c)
    return fit_logistic(real, fake)


def _labels(gen: Inference, n: int, classes: int | list[int] | torch.Tensor | None) -> torch.Tensor | None:
    k = int(gen.signature["num_classes"])
    if classes is None:
        return torch.arange(n) % k if k else None
    return gen._check_classes(n, [classes] if isinstance(classes, int) else classes)


def _check(n: int, method: str, gamma: float | None, calibration_n: int) -> None:
    if method not in METHODS:
        raise ConfigError(f"reject method {method!r}: choose drs (discriminator rejection sampling) or mh (Metropolis-Hastings GAN).")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"n: the number of samples to keep is a whole number >= 1, got {n!r}.")
    if gamma is not None and (method != "drs" or not math.isfinite(float(gamma))):
        raise ConfigError("gamma: a finite number, and DRS's alone (MH-GAN has no gamma)." if method == "drs" else
                          "gamma tunes DRS's acceptance rate; MH-GAN has none (its cost is the chain length).")  # fmt: skip
    if isinstance(calibration_n, bool) or not isinstance(calibration_n, int) or calibration_n < 2:
        raise ConfigError(f"calibration_n: at least 2 held-out real samples, got {calibration_n!r}.")


def rejection_sample(gen: Inference | str | Path, n: int, method: Literal["drs", "mh"] = "drs", seed: int = 0,
                     classes: int | list[int] | torch.Tensor | None = None, gamma: float | None = None,
                     calibration_n: int = CALIBRATION_N, *, held_out: tuple[torch.Tensor, torch.Tensor | None] | None = None,
                     burn_in: int = BURN_IN, gamma_percentile: float = GAMMA_PERCENTILE, eps: float = EPS,
                     chain_length: int = CHAIN_LENGTH, max_restarts: int = MAX_RESTARTS, batch_size: int = 1024,
                     max_proposals: int | None = None, device: str | torch.device = "cpu") -> RejectionResult:  # fmt: skip
    """``n`` samples of a run's G filtered by its D (``method`` "drs" or "mh").

    ``classes``: one class, or one per sample (conditional runs; default every class in turn).
    ``gamma``: DRS's shift (default the ``gamma_percentile``-th percentile of F on the burn-in; 0 is
    the exact rule). ``held_out``: (real samples -- uint8 images or float -- , labels or None) to
    calibrate on instead of the run's validation split. ``max_proposals`` (DRS): default 200 n.
    """
    _check(n, method, gamma, calibration_n)
    gen, critic = load_critic(gen)
    labels = _labels(gen, n, classes)
    if held_out is not None:
        from gankit.sampling.heldout import as_model_range

        x, c = held_out
        held = HeldOut(as_model_range(torch.as_tensor(x)), None if c is None else torch.as_tensor(c).long(), "given by the caller", True)
        if critic.conditional and held.c is None:
            raise ConfigError("held_out: this conditional run's D needs the held-out samples' labels.")
    else:
        held = load_held_out(gen.cfg, calibration_n, seed, critic.conditional)
    proposer = Proposer(gen, critic, seed, device=device)
    proposer.calibration = calibrate(critic, proposer, held)
    rng = torch.Generator().manual_seed(_seed(seed, "accept"))
    pack = critic.pack
    n_units = -(-n // pack)
    details: dict[str, Any] = {"held_out": held.source, "held_out_unseen_by_D": held.unseen,
                               "calibration": proposer.calibration.as_dict(), "loss": critic.loss, "weights": gen.weights,
                               "step": gen.step, "pack": pack, "batch_dependent_D": critic.batch_dependent,
                               "path": str(gen.path)}  # fmt: skip
    batch = max(1, batch_size // pack)
    if method == "drs":
        return _drs(proposer, gen, labels, n, n_units, gamma, gamma_percentile, eps, burn_in, batch, max_proposals, rng, details)
    return _mh(proposer, held, gen, labels, n, n_units, chain_length, max_restarts, rng, details)


def _finish(units: torch.Tensor, gen: Inference, n: int) -> torch.Tensor:
    x = units.reshape(-1, *gen.signature["output_shape"])[:n]
    return x.float() if gen.is_vector else to_uint8(x)


def _drs(proposer: Proposer, gen: Inference, labels: torch.Tensor | None, n: int, n_units: int, gamma: float | None,
         percentile: float, eps: float, burn_in: int, batch: int, max_proposals: int | None, rng: torch.Generator,
         details: dict[str, Any]) -> RejectionResult:  # fmt: skip
    """Unconditional: one bound and gamma. Conditional: D~(x, c) is log p_data(x|c) / p_g(x|c), so each
    requested class has its own bound M_c (and default gamma) from its own burn-in of ``burn_in / classes``
    samples (at least ``MIN_CLASS_BURN_IN``), and is filled from its own proposals."""
    if burn_in < 1:
        raise ConfigError(f"burn_in: at least 1 sample to estimate D's maximum, got {burn_in}.")
    pack = proposer.critic.pack
    shape = gen.signature["output_shape"]
    groups: list[tuple[int | None, torch.Tensor]] = (
        [(None, torch.arange(n_units))] if labels is None
        else [(int(k), torch.nonzero(labels == k).reshape(-1)) for k in labels.unique().tolist()])  # fmt: skip
    per_class_burn = -(-burn_in // pack) if labels is None else max(MIN_CLASS_BURN_IN, -(-burn_in // len(groups)))
    x_out = torch.empty(n_units, pack, *shape)
    states: dict[str, dict[str, Any]] = {}
    proposed = accepted = 0
    for cls, where in groups:
        c = None if cls is None else torch.full((per_class_burn,), cls, dtype=torch.long)
        drs = DRS.from_burn_in(proposer(per_class_burn, c)[1], gamma, percentile, eps)
        budget = max_proposals if max_proposals is not None else 200 * len(where)
        x_out[where] = drs.fill(proposer, len(where), batch, rng, budget, labels=cls)
        proposed, accepted = proposed + drs.proposed, accepted + drs.accepted
        states["all" if cls is None else str(cls)] = drs.details() | {
            "gamma": drs.gamma, "proposed": drs.proposed * pack, "accepted": drs.accepted * pack,
            "acceptance_rate": drs.acceptance_rate, "burn_in": per_class_burn * pack}  # fmt: skip
    gammas = [st["gamma"] for st in states.values()]
    if labels is None:
        details |= states["all"]
    else:
        details |= {"per_class": states, "gamma_source": next(iter(states.values()))["gamma_source"]
                    + ("" if gamma is not None else "; per class (the reported gamma is their mean)")}  # fmt: skip
    return RejectionResult(_finish(x_out, gen, n), labels, proposed * pack, accepted * pack, accepted / max(proposed, 1),
                           "drs", float(sum(gammas) / len(gammas)), details)  # fmt: skip


def _mh(proposer: Proposer, held: HeldOut, gen: Inference, labels: torch.Tensor | None, n: int, n_units: int,
        chain_length: int, max_restarts: int, rng: torch.Generator, details: dict[str, Any]) -> RejectionResult:  # fmt: skip
    critic, pack = proposer.critic, proposer.critic.pack
    x_real, c_real = _real_units(critic, held)
    real_units = x_real.reshape(-1, pack, *gen.signature["output_shape"])
    real_logits = proposer.calibration(critic.score(x_real, c_real, proposer.device))  # type: ignore[misc]
    pick_rng = torch.Generator().manual_seed(_seed(int(rng.initial_seed()), "start"))
    by_class = {None: torch.arange(len(real_units))} if labels is None else {
        int(k): torch.nonzero(c_real == k).reshape(-1) for k in labels.unique().tolist()}  # fmt: skip
    for k, pool in by_class.items():
        if len(pool) == 0:
            raise ConfigError(f"MH starts each chain from a real sample of its class, but the held-out data has none of class {k}.")

    def start(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pos = torch.empty(len(idx), dtype=torch.long)
        for k, pool in by_class.items():
            sel = torch.arange(len(idx)) if k is None else torch.nonzero(labels[idx] == k).reshape(-1)  # type: ignore[index]
            pos[sel] = pool[torch.randint(len(pool), (len(sel),), generator=pick_rng)]
        return real_units[pos], real_logits[pos]

    mh = MH(chain_length, max_restarts)
    try:
        units = mh.run(proposer, start, n_units, rng, labels)
    except GankitError as e:
        cal = proposer.calibration
        if cal is not None and cal.separable:
            raise GankitError(f"{e} Here the calibrated D separates every held-out real sample from G's samples (slope {cal.a:.3g}), "
                              "so no proposal is ever as likely as a real start; DRS still ranks G's samples (--reject drs).") from None
        raise
    details |= mh.details()
    return RejectionResult(_finish(units, gen, n), labels, mh.proposed * pack, mh.accepted * pack, mh.acceptance_rate,
                           "mh", None, details)  # fmt: skip


__all__ = ["Calibration", "Critic", "DRS", "MH", "METHODS", "NoDiscriminator", "Proposer", "RejectionResult", "fit_logistic",
           "load_critic", "rejection_sample"]  # fmt: skip
