"""Evaluation during training: FID for images, mode coverage for the 2D mixtures.

Every ``log.eval_every`` steps the inference module (EMA where enabled) draws a fixed, seeded set
of ``eval.n_samples``; FID against cached reference statistics is logged, the best-by-FID
checkpoint is kept in ``checkpoints/best`` and the curve is plotted to ``fid.png``.

The best checkpoint is selected on ``eval.select_on``: by default ``val``, the last 5,000 training
images, which are then left out of training; ``gankit eval`` reports on ``test``, which selection
never saw. ``test`` selects on the test split (optimistic: say so when reporting), ``off`` keeps
no best checkpoint. A folder has no held-out split and is compared with itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gankit.config import Config
from gankit.core.hooks import Hook, RunView
from gankit.data import data_spec
from gankit.utils.images import to_uint8


def default_reference(cfg: Config) -> str | None:
    """What ``gankit eval`` reports against: the held-out test split where there is one."""
    if cfg.eval.reference:
        return cfg.eval.reference
    return data_spec(cfg.data.name).reference(cfg.data, "test")


def choose_extractor(cfg: Config, shape: tuple[int, ...]) -> str | None:
    """``auto`` uses our Fashion-MNIST network on 28x28 grayscale data; Inception only when asked."""
    if cfg.eval.extractor != "auto":
        return cfg.eval.extractor
    return "fmnist" if tuple(shape) == (1, 28, 28) else None


def _fid_runs(cfg: Config) -> bool:
    from gankit.tasks import TASKS

    spec = data_spec(cfg.data.name)
    if cfg.eval.fid == "off" or spec.kind == "vector" or getattr(TASKS.get(cfg.task.name), "image_to_image", False):
        return False  # an image-to-image task is measured by `gankit eval` on its held-out inputs
    return choose_extractor(cfg, spec.sample_shape(cfg.data)) is not None and default_reference(cfg) is not None


def holds_out_val(cfg: Config) -> bool:
    """Whether training leaves the validation items out: selection on ``val`` of a dataset that has one."""
    ec = cfg.eval
    spec = data_spec(cfg.data.name)
    return (ec.select_on == "val" and ec.keep_best and not ec.reference and cfg.data.split == "train"
            and spec.reference(cfg.data, "val") not in (None, spec.reference(cfg.data, "test")) and _fid_runs(cfg))  # fmt: skip


def selection_reference(cfg: Config) -> str | None:
    """The reference the in-loop FID (and so the best checkpoint) is measured against."""
    if holds_out_val(cfg):
        return data_spec(cfg.data.name).reference(cfg.data, "val")
    return default_reference(cfg)


class EvalHook(Hook):
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.best: float | None = None
        self.best_step: int | None = None
        self.history: list[list[float]] = []  # [step, value]
        self.tracker: Any = None
        self.enabled = False
        self.mixture = data_spec(cfg.data.name).mixture(cfg.data) is not None
        self.keep_best = cfg.eval.keep_best and cfg.eval.select_on != "off"

    def on_start(self, run: RunView) -> None:
        shape = run.sample_shape
        ec = self.cfg.eval
        if ec.fid == "off" or run.signature.get("input_shape"):  # image-to-image: measured by `gankit eval`
            return
        if self.mixture:
            self.enabled = True
            return
        extractor, ref = choose_extractor(self.cfg, shape), selection_reference(self.cfg)
        if extractor is None or ref is None:
            if ec.fid == "on":
                from gankit.errors import ConfigError

                raise ConfigError(
                    f"eval.fid: on, but no extractor fits {shape} images by default; set eval.extractor: inception "
                    "(with eval.inception_weights offline) and eval.reference."
                )
            return
        self.enabled = True
        self.reference = ref
        if run.is_main:
            from gankit.metrics import FIDTracker

            data_root = self.cfg.data.root if data_spec(self.cfg.data.name).has_labels else None
            self.tracker = FIDTracker(
                extractor, ref=ref, n_ref=ec.n_reference, seed=self.cfg.seed, device=str(run.device),
                image_shape=tuple(shape), inception_weights=ec.inception_weights, data_root=data_root,
            )  # fmt: skip

    def _samples(self, run: RunView) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.cfg.seed + 104729)
        z = torch.randn(self.cfg.eval.n_samples, run.signature["z_dim"], generator=gen).to(run.device)
        return run.generate(z).cpu()

    def on_eval(self, run: RunView, step: int) -> dict[str, float]:
        if not self.enabled:
            return {}
        out: dict[str, float] = {}
        is_best = False
        if run.is_main:
            samples = self._samples(run)
            if self.mixture:
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
                self._plot(run.run_dir)
        if run.world_size > 1:
            is_best = bool(run.broadcast(is_best, src=0))
        if is_best and self.keep_best:
            run.save(name="best")
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
        ax.set_ylabel(f"FID vs {self.reference} ({self.tracker.extractor.name}, n={self.cfg.eval.n_samples})")
        ax.set_yscale("log")
        fig.tight_layout()
        save_figure(fig, run_dir / "fid.png")

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step, "history": self.history}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_step = state.get("best"), state.get("best_step")
        self.history = [list(x) for x in state.get("history", [])]


def default_hooks(cfg: Config) -> list[Hook]:
    """In-loop evaluation (FID / 2D coverage, best checkpoint), the diagnostics monitor, MLflow tracking."""
    hooks: list[Hook] = [EvalHook(cfg)]
    if cfg.monitor.enabled:
        from gankit.diagnostics.monitor import Monitor

        hooks.append(Monitor(cfg))
    if cfg.log.mlflow is not None:  # last: its on_end sees what the others wrote
        from gankit.train.tracking import MlflowHook

        hooks.append(MlflowHook(cfg))
    return hooks
