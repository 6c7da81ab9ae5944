"""Evaluation during training: FID for images, mode coverage for the 2D mixtures.

Every ``log.eval_every`` steps the sampling generator (EMA where enabled) draws a fixed,
seeded set of ``eval.n_samples``; FID against cached reference statistics is logged, the
best-by-FID checkpoint is kept in ``checkpoints/best`` and the curve is plotted to ``fid.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gankit.config import Config
from gankit.train.trainer import Hook
from gankit.utils.images import to_uint8

if TYPE_CHECKING:
    from gankit.train.trainer import Trainer

MIXTURES = ("ring8", "grid25")


def default_reference(cfg: Config) -> str | None:
    """The held-out split of the training set where there is one; a folder evaluates against itself."""
    if cfg.eval.reference:
        return cfg.eval.reference
    if cfg.data.name in ("fashion-mnist", "mnist"):
        return f"{cfg.data.name}:test"
    if cfg.data.name == "folder":
        return cfg.data.root
    return None


def choose_extractor(cfg: Config, shape: tuple[int, ...]) -> str | None:
    """``auto`` uses our Fashion-MNIST network on 28x28 grayscale data; Inception only when asked."""
    if cfg.eval.extractor != "auto":
        return cfg.eval.extractor
    return "fmnist" if tuple(shape) == (1, 28, 28) else None


class EvalHook(Hook):
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.best: float | None = None
        self.best_step: int | None = None
        self.history: list[list[float]] = []  # [step, value]
        self.tracker: Any = None
        self.enabled = False

    def on_start(self, trainer: "Trainer") -> None:
        shape = trainer.source.sample_shape
        ec = self.cfg.eval
        if ec.fid == "off":
            return
        if self.cfg.data.name in MIXTURES:
            self.enabled = True
            return
        extractor, ref = choose_extractor(self.cfg, shape), default_reference(self.cfg)
        if extractor is None or ref is None:
            if ec.fid == "on":
                from gankit.errors import ConfigError

                raise ConfigError(
                    f"eval.fid: on, but no extractor fits {shape} images by default; set eval.extractor: inception "
                    "(with eval.inception_weights offline) and eval.reference."
                )
            return
        self.enabled = True
        if trainer.is_main:
            from gankit.metrics import FIDTracker

            data_root = self.cfg.data.root if self.cfg.data.name in ("fashion-mnist", "mnist") else None
            self.tracker = FIDTracker(
                extractor, ref=ref, n_ref=ec.n_reference, seed=self.cfg.seed, device=str(trainer.fabric.device),
                image_shape=tuple(shape), inception_weights=ec.inception_weights, data_root=data_root,
            )  # fmt: skip

    def _samples(self, trainer: "Trainer") -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.cfg.seed + 104729)
        z = torch.randn(self.cfg.eval.n_samples, self.cfg.model.z_dim, generator=gen).to(trainer.fabric.device)
        return trainer.generate(z).cpu()

    def on_eval(self, trainer: "Trainer", step: int) -> dict[str, float]:
        if not self.enabled:
            return {}
        out: dict[str, float] = {}
        is_best = False
        if trainer.is_main:
            samples = self._samples(trainer)
            if self.cfg.data.name in MIXTURES:
                from gankit.metrics.coverage import mixture_coverage

                cov = mixture_coverage(samples, self.cfg.data.name)
                out = {"modes_covered": float(cov.modes_covered), "hq_fraction": cov.hq_fraction}
                if cov.reverse_kl is not None:
                    out["reverse_kl"] = cov.reverse_kl
            else:
                fid = self.tracker.fid_of(to_uint8(samples))
                self.history.append([step, fid])
                is_best = self.best is None or fid < self.best
                if is_best:
                    self.best, self.best_step = fid, step
                out = {"fid": fid, "fid_best": self.best}
                self._plot(trainer.run_dir)
        if trainer.fabric.world_size > 1:
            is_best = bool(trainer.fabric.broadcast(is_best, src=0))
        if is_best and self.cfg.eval.keep_best:
            trainer.save(name="best")
        return out

    def _plot(self, run_dir: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from gankit.utils.images import save_figure

        steps, vals = zip(*self.history)
        fig, ax = plt.subplots(figsize=(5, 3), dpi=100)
        ax.plot(steps, vals, marker="o", ms=3)
        if self.best_step is not None:
            ax.axvline(self.best_step, color="tab:green", ls="--", lw=1, label=f"best {self.best:.2f} @ {self.best_step}")
            ax.legend(fontsize=8)
        ax.set_xlabel("step")
        ax.set_ylabel(f"FID ({self.tracker.extractor.name}, n={self.cfg.eval.n_samples})")
        ax.set_yscale("log")
        fig.tight_layout()
        save_figure(fig, run_dir / "fid.png")

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step, "history": self.history}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_step = state.get("best"), state.get("best_step")
        self.history = [list(x) for x in state.get("history", [])]
