"""In-training diagnostics: an engine :class:`~gankit.core.hooks.Hook` that watches the logged
numbers, warns once per rule, and measures sample diversity at evaluation steps. It sees the run
only through :class:`~gankit.core.hooks.RunView`.

* ``on_log`` feeds every logged record into a :class:`~gankit.diagnostics.engine.RuleEngine` and
  prints each finding once via ``run.warn`` (recorded as ``kind: warning`` with the rule name
  and the evidence numbers).
* ``on_eval`` draws a fixed generated batch (``n_samples`` from noise seeded by ``cfg.seed``) and
  compares its mean pairwise feature distance with that of a fixed real batch loaded once in
  ``on_start``: ``diversity_ratio``. 28x28 grayscale images use the Fashion-MNIST classifier's
  features and add the class histogram's KL to uniform (``class_kl``, and ``class_kl_real`` of
  the real batch); other images use pixels (downsampled to at most 64x64); 2D data the points.
* A class-conditional run (``signature["num_classes"]`` K > 0) asks for the classes in turn
  (labels ``arange(n) % K``, the same every evaluation), so the batch is class-balanced; where the
  features are the Fashion-MNIST classifier's and the data's classes are its classes (after
  ``data.classes``), the same batch also gives ``class_consistency`` -- the fraction classified as
  the class it was asked for -- and its chance level ``class_consistency_chance`` (1/K), which the
  ``labels_ignored`` rule reads. One batch serves both, so conditioning costs no extra G pass.
* ``state_dict`` holds the engine (window, peaks, which rules fired), so a resumed run does not
  repeat its warnings.

The D(x)/D(G(z)) histograms are logged to TensorBoard by the engine itself.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from gankit.core.hooks import Hook, RunView
from gankit.diagnostics.context import RuleContext
from gankit.diagnostics.engine import RuleEngine
from gankit.diagnostics.records import Finding
from gankit.diagnostics.thresholds import COLLAPSE_WARMUP_STEPS, DEFAULT_WINDOW

if TYPE_CHECKING:
    from gankit.config import Config

#: Offset added to ``cfg.seed`` for the monitor's fixed noise (distinct from the grid's and FID's).
NOISE_SEED_OFFSET = 15_485_863
#: Pixel-space diversity works on images downsampled to at most this size (cost and noise).
PIXEL_MAX_SIZE = 64


@dataclass
class MonitorSettings:
    """The ``monitor:`` section of a recipe (mirrors the proposed ``MonitorConfig``)."""

    enabled: bool = True
    window: int = DEFAULT_WINDOW  # log records per sliding window
    warmup_steps: int = 0  # no rule but NaN fires before this generator step
    collapse_warmup: int = COLLAPSE_WARMUP_STEPS  # absolute mode-collapse criteria wait this long
    diversity: bool = True  # measure diversity / class histogram / class consistency at eval steps
    n_samples: int = 256  # generated and real batch size for the diversity measure
    features: Literal["auto", "fmnist", "pixels"] = "auto"  # auto: fmnist for 28x28 grayscale

    @classmethod
    def from_config(cls, cfg: Any) -> MonitorSettings:
        """From ``cfg.monitor`` (a pydantic model or dict) where the schema has it, else defaults."""
        section = getattr(cfg, "monitor", None)
        if section is None:
            return cls()
        data = section.model_dump() if hasattr(section, "model_dump") else dict(section)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def mean_pairwise_distance(x: torch.Tensor | np.ndarray) -> float:
    """Mean Euclidean distance over all pairs i != j of the rows of ``x`` (N, D), in float64."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).double().flatten(1)
    n = t.shape[0]
    if n < 2:
        raise ValueError(f"pairwise distance needs at least 2 samples, got {n}")
    return float(torch.cdist(t, t).sum() / (n * (n - 1)))


def pixel_features(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float in [-1, 1], area-downsampled to <= 64 px, flattened."""
    x = images.float().div(127.5).sub(1.0)
    if x.dim() == 4 and max(x.shape[-2:]) > PIXEL_MAX_SIZE:
        x = F.adaptive_avg_pool2d(x, PIXEL_MAX_SIZE)
    return x.flatten(1)


def _load_fmnist_extractor(device: str | torch.device) -> Any:
    """The Fashion-MNIST extractor (``gankit.metrics``); raises if it cannot be loaded."""
    from gankit.metrics import get_extractor

    return get_extractor("fmnist", device)


def _kl_uniform(logits: np.ndarray) -> float:
    from gankit.metrics.classes import class_statistics

    return float(class_statistics(logits)["kl_uniform"])  # type: ignore[arg-type]


class DiversityProbe:
    """Diversity of generated samples relative to a fixed real batch.

    ``space`` is ``"fmnist"`` (classifier features + class histogram), ``"pixels"`` or ``"points"``.
    ``class_map`` (fmnist only): the classifier's class id for each of the run's labels; with it,
    :meth:`measure` given the labels the samples were generated for adds class consistency.
    """

    def __init__(self, real: torch.Tensor, space: str, extractor: Any = None, class_map: Sequence[int] | None = None) -> None:
        self.space = space
        self.extractor = extractor
        self.class_map = torch.as_tensor(list(class_map), dtype=torch.int64) if class_map and space == "fmnist" else None
        feats, logits = self._features(real)
        self.class_kl_real = _kl_uniform(logits) if logits is not None else None
        self.real_diversity = mean_pairwise_distance(feats)

    def _features(self, x: torch.Tensor) -> tuple[np.ndarray | torch.Tensor, np.ndarray | None]:
        if self.space == "points":
            return x.float(), None
        if self.space == "fmnist":
            out = self.extractor.run(x)
            return out["features"], np.asarray(out["logits"])
        return pixel_features(x), None

    def measure(self, samples: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, float]:
        """``samples``: generator output (images in [-1, 1] or points), on any device; ``labels``:
        the class each was generated for (conditional runs)."""
        from gankit.utils.images import to_uint8

        x = samples.detach().cpu()
        if self.space != "points":
            x = to_uint8(x)
        feats, logits = self._features(x)
        out = {"diversity_ratio": mean_pairwise_distance(feats) / self.real_diversity if self.real_diversity > 0 else float("nan")}
        if logits is not None and self.class_kl_real is not None:
            out["class_kl"] = _kl_uniform(logits)
            out["class_kl_real"] = self.class_kl_real
        if logits is not None and labels is not None and self.class_map is not None:
            from gankit.metrics.conditional import class_consistency

            target = self.class_map[labels.detach().cpu().long()]
            out["class_consistency"] = float(class_consistency(logits, target.numpy())["overall"])  # type: ignore[arg-type]
            out["class_consistency_chance"] = 1.0 / len(self.class_map)
        return out


def fmnist_class_map(names: Sequence[str] | None, num_classes: int) -> list[int] | None:
    """The Fashion-MNIST classifier's class id for each of a run's ``num_classes`` labels, matched
    by class name (so ``data.classes: [0, 7]`` maps labels 0, 1 to 0, 7); None where the run's
    classes are not all the classifier's (MNIST digits, an image folder): consistency would be noise."""
    from gankit.metrics.extractors.fmnist import CLASS_NAMES

    if not names or len(names) != num_classes or any(n not in CLASS_NAMES for n in names):
        return None
    return [CLASS_NAMES.index(n) for n in names]


class Monitor(Hook):
    """Diagnostics hook: pass ``Monitor(cfg)`` in the engine's ``hooks``."""

    def __init__(self, cfg: Config, settings: MonitorSettings | None = None) -> None:
        self.cfg = cfg
        self.settings = settings or MonitorSettings.from_config(cfg)
        s = self.settings
        self.engine = RuleEngine(RuleContext.from_config(cfg), s.window, s.warmup_steps, s.collapse_warmup)
        self.probe: DiversityProbe | None = None
        self.z: torch.Tensor | None = None
        self.labels: torch.Tensor | None = None  # conditional runs: the class asked of each sample
        self.findings: list[Finding] = []  # this process's findings, in order

    # ------------------------------------------------------------------ hook

    def on_start(self, run: RunView) -> None:
        s = self.settings
        if not (s.enabled and s.diversity and run.is_main) or run.signature.get("input_shape"):
            return  # an image-to-image G has no noise to draw a diversity batch from; the loss rules still run
        from gankit.data import load_real_images

        data = self.cfg.data
        n = min(s.n_samples, data.limit) if data.limit else s.n_samples
        real = load_real_images(data, limit=n, seed=self.cfg.seed)
        if real.shape[0] < 2:
            return
        space = self._space(run, tuple(real.shape[1:]))
        extractor = None
        if space == "fmnist":
            try:
                extractor = _load_fmnist_extractor(run.device)
            except Exception as e:  # missing weights / torch-fidelity: fall back, say so once
                if s.features == "fmnist":
                    raise
                _note(
                    run,
                    f"diagnostics: Fashion-MNIST features unavailable ({str(e).splitlines()[0]}); measuring diversity in pixel space",
                )
                space = "pixels"
        k = int(run.signature.get("num_classes", 0) or 0)
        class_map = self._class_map(run, k) if k and space == "fmnist" else None
        self.probe = DiversityProbe(real, space, extractor, class_map)
        gen = torch.Generator().manual_seed(self.cfg.seed + NOISE_SEED_OFFSET)
        self.z = torch.randn(real.shape[0], run.signature["z_dim"], generator=gen).to(run.device)
        self.labels = (torch.arange(real.shape[0]) % k).to(run.device) if k else None

    def _class_map(self, run: RunView, k: int) -> list[int] | None:
        from gankit.data import class_names

        try:
            names = class_names(self.cfg.data)
        except Exception:  # a data source that cannot name its classes: no consistency, say why
            names = None
        mapped = fmnist_class_map(names, k)
        if mapped is None:
            _note(run, "diagnostics: class consistency not measured: the data's classes are not the Fashion-MNIST classifier's")
        return mapped

    def _space(self, run: RunView, shape: tuple[int, ...]) -> str:
        if run.data_kind == "vector" or len(shape) == 1:
            return "points"
        if self.settings.features == "pixels":
            return "pixels"
        if self.settings.features == "fmnist" or shape == (1, 28, 28):
            return "fmnist"
        return "pixels"

    def on_log(self, run: RunView, step: int, values: dict[str, float]) -> None:
        if self.settings.enabled:
            self._report(run, self.engine.feed({"kind": "train", "step": step, **values}))

    def on_eval(self, run: RunView, step: int) -> dict[str, float]:
        if not (self.settings.enabled and run.is_main and self.probe is not None and self.z is not None):
            return {}
        out = self.probe.measure(run.generate(self.z, self.labels), self.labels)
        self._report(run, self.engine.feed({"kind": "eval", "step": step, **out}))
        return out

    def _report(self, run: RunView, findings: list[Finding]) -> None:
        for f in findings:
            self.findings.append(f)
            run.warn(f.message(), rule=f.rule, **f.evidence)

    def state_dict(self) -> dict[str, Any]:
        return {"engine": self.engine.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "engine" in state:
            self.engine.load_state_dict(state["engine"])


def _note(run: RunView, text: str) -> None:
    if run.is_main:
        from tqdm.auto import tqdm

        tqdm.write(text, file=sys.stderr)


__all__ = ["DiversityProbe", "Monitor", "MonitorSettings", "fmnist_class_map", "mean_pairwise_distance", "pixel_features"]
