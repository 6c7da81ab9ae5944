"""The metrics :func:`gankit.metrics.evaluate` can compute, by name: :data:`METRICS`.

Each metric declares its name, the inputs it needs, a one-line description and the function that
computes it into the report (``compute(ctx)``, with ``ctx`` an :class:`~gankit.metrics.context.EvalContext`;
it adds :class:`~gankit.metrics.protocol.MetricResult` s to ``ctx.report``). Inputs:

=================== =============================================================================
``samples``         generated images only (``is``; ``classes``, scored by the Fashion-MNIST classifier)
``samples+labels``  generated images plus the class each was generated for, int64 labels (N,)
                    (``class_consistency``, ``intra_fid``, ``cas``); without labels they are an error
``pairs``           generated images compared with real images, the reference (``fid``, ``kid``, ...)
``aligned``         generated images compared row by row with their own targets (``l1``, ``psnr``,
                    ``ssim``, ``lpips``: image-to-image translation; ``psnr_y``, ``ssim_y``, ``hole_l1``,
                    ``hole_psnr``: restoration, the hole ones also need masks); without targets they are an error
``points``          2D point samples (``coverage``); the only kind that applies to points
``generator``       the generator itself (``ppl``: it generates along latent paths); a run folder only
=================== =============================================================================

A metric also declares which features of the generated images it reads (``features``):
``"extractor"`` (those of ``evaluate(extractor=...)``, extracted once for all metrics),
``"fmnist"`` (always the shipped Fashion-MNIST classifier, shared when it is the extractor) or
``"none"`` (pixels, points, or a classifier it trains itself), so that none is computed in vain.

Adding a metric touches one file plus its registration: write ``gankit/metrics/<name>.py`` with
the maths and a ``report(ctx)`` function, then add one :meth:`MetricRegistry.add` line below. The
function is named as ``"module:attribute"`` and imported on first use, so listing the metrics
(:func:`metric_names`, the CLI help) imports nothing heavy. Results appear in the report in
registration order.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, Sequence, Union

from gankit.core.registry import did_you_mean
from gankit.errors import GankitError

if TYPE_CHECKING:
    from gankit.metrics.context import EvalContext

INPUTS = ("samples", "samples+labels", "pairs", "aligned", "points", "generator")
FEATURES = ("extractor", "fmnist", "none")

Compute = Callable[["EvalContext"], None]


@dataclass(frozen=True)
class MetricSpec:
    """One metric: ``compute`` is a callable or ``"module:attribute"`` (imported on first use)."""

    name: str
    inputs: str
    description: str
    compute: Union[Compute, str]
    features: str = "extractor"

    def __post_init__(self) -> None:
        if self.inputs not in INPUTS:
            raise ValueError(f"metric {self.name!r}: inputs {self.inputs!r} is not one of {', '.join(INPUTS)}")
        if self.features not in FEATURES:
            raise ValueError(f"metric {self.name!r}: features {self.features!r} is not one of {', '.join(FEATURES)}")
        if not self.description or "\n" in self.description:
            raise ValueError(f"metric {self.name!r}: the description must be one line")

    @property
    def needs_labels(self) -> bool:
        """Whether the metric needs the class each sample was generated for."""
        return self.inputs == "samples+labels"

    @property
    def images(self) -> bool:
        """Whether the metric applies to images (every kind of input but ``points``)."""
        return self.inputs != "points"

    def resolve(self) -> Compute:
        if callable(self.compute):
            return self.compute
        module, _, attr = self.compute.partition(":")
        return getattr(importlib.import_module(module), attr)

    def run(self, ctx: "EvalContext") -> None:
        self.resolve()(ctx)


class MetricRegistry:
    """Name -> :class:`MetricSpec`, in registration order. Iterating yields the names (like a tuple)."""

    def __init__(self) -> None:
        self._specs: dict[str, MetricSpec] = {}

    def add(self, name: str, inputs: str, description: str, compute: Union[Compute, str], *, features: str = "extractor") -> MetricSpec:
        if name in self._specs:
            raise ValueError(f"metric {name!r} registered twice")
        spec = MetricSpec(name, inputs, description, compute, features)
        self._specs[name] = spec
        return spec

    def register(self, name: str, *, inputs: str, description: str, features: str = "extractor") -> Callable[[Compute], Compute]:
        """Decorator form of :meth:`add`, for a metric defined outside gankit."""

        def deco(fn: Compute) -> Compute:
            self.add(name, inputs, description, fn, features=features)
            return fn

        return deco

    def names(self) -> list[str]:
        return list(self._specs)

    def specs(self) -> list[MetricSpec]:
        return list(self._specs.values())

    def get(self, name: str) -> MetricSpec:
        if name not in self._specs:
            raise GankitError(f"unknown metric {name!r}.{did_you_mean(name, self.names())}")
        return self._specs[name]

    def select(self, metrics: str | Sequence[str]) -> list[MetricSpec]:
        """The requested metrics (a list or a comma string), checked, deduplicated, in registration order."""
        if isinstance(metrics, str):
            metrics = [m.strip() for m in metrics.split(",") if m.strip()]
        wanted = {self.get(m).name for m in metrics}
        if not wanted:
            raise GankitError(f"no metrics requested; choose from {', '.join(self.names())}.")
        return [s for s in self._specs.values() if s.name in wanted]

    def describe(self) -> str:
        """One line per metric: name, inputs, description."""
        w = max(len(n) for n in self._specs)
        wi = max(len(s.inputs) for s in self._specs.values()) + 2
        return "\n".join(f"{s.name.ljust(w)}  {f'[{s.inputs}]'.ljust(wi)}  {s.description}" for s in self._specs.values())

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._specs))

    def __len__(self) -> int:
        return len(self._specs)

    def __repr__(self) -> str:
        return f"MetricRegistry({', '.join(self._specs)})"


METRICS = MetricRegistry()
# Registration order is the order of the report.
METRICS.add("fid", "pairs", "Fréchet distance of extractor features to the reference", "gankit.metrics.fid:report")
METRICS.add("kid", "pairs", "Kernel Inception Distance (cubic polynomial kernel, 100 subsets of <= 1000)", "gankit.metrics.kid:report")
METRICS.add("pr", "pairs", "precision and recall (Kynkäänniemi et al. 2019, k = 3) against the reference", "gankit.metrics.precision_recall:report")
METRICS.add("is", "samples", "Inception Score from the extractor's logits (10 splits)", "gankit.metrics.inception_score:report")
METRICS.add("classes", "samples", "Fashion-MNIST classifier: class histogram, its KL to uniform, fraction with p > 0.9", "gankit.metrics.classes:report", features="fmnist")
METRICS.add("coverage", "points", "2D samples only: modes covered, high-quality fraction, reverse KL (needs mixture)", "gankit.metrics.coverage:report", features="none")
METRICS.add("memorization", "pairs", "nearest-train / nearest-held-out distance ratios, pixels and features", "gankit.metrics.memorization:report")
METRICS.add("class_consistency", "samples+labels", "fraction of samples the Fashion-MNIST classifier assigns to their requested class", "gankit.metrics.conditional:report_consistency", features="fmnist")
METRICS.add("intra_fid", "samples+labels", "mean over classes k of FID(generated class k, reference class k)", "gankit.metrics.conditional:report_intra_fid")
METRICS.add("cas", "samples+labels", "Classification Accuracy Score: classifier trained on the samples, tested on real data; and trained on real", "gankit.metrics.cas:report", features="none")
METRICS.add("ppl", "generator", "perceptual path length in z (and w): fmnist, pixels or LPIPS-VGG (ppl_similarity), eps 1e-4, 1st-99th percentile",
            "gankit.metrics.ppl:report", features="none")

METRICS.add("l1", "aligned", "mean absolute error to each output's own target, [0, 1] scale (translation; cycle L1)", "gankit.metrics.translation:report_l1", features="none")
METRICS.add("psnr", "aligned", "peak signal-to-noise ratio to each output's target, dB (torchmetrics)", "gankit.metrics.translation:report_psnr", features="none")
METRICS.add("ssim", "aligned", "structural similarity to each output's target (torchmetrics, Gaussian 11 / 1.5)", "gankit.metrics.translation:report_ssim", features="none")
METRICS.add("lpips", "aligned", "LPIPS-VGG v0.1 distance to each output's target (weights by path)", "gankit.metrics.translation:report_lpips", features="none")
METRICS.add("target_class", "samples", "fraction of outputs the Fashion-MNIST classifier assigns to the target domain's class", "gankit.metrics.translation:report_target_class", features="fmnist")

METRICS.add("psnr_y", "aligned", "PSNR to each output's target on the BT.601 Y channel of RGB (gray as is), crop_border cut, dB",
            "gankit.metrics.restoration:report_psnr_y", features="none")
METRICS.add("ssim_y", "aligned", "SSIM to each output's target on the BT.601 Y channel of RGB (gray as is), crop_border cut, valid 11x11 window",
            "gankit.metrics.restoration:report_ssim_y", features="none")
METRICS.add("hole_l1", "aligned", "mean absolute error over the hole pixels of masks= only, [0, 1] scale, mean over images (inpainting)",
            "gankit.metrics.restoration:report_hole_l1", features="none")
METRICS.add("hole_psnr", "aligned", "PSNR from each image's hole-pixel MSE (masks=), dB, mean over images (inpainting)",
            "gankit.metrics.restoration:report_hole_psnr", features="none")

#: The ``aligned`` metrics that also need hole masks (``evaluate(masks=...)``).
NEEDS_MASKS = frozenset({"hole_l1", "hole_psnr"})


def metric_names() -> list[str]:
    """Names of every registered metric, in report order."""
    return METRICS.names()


__all__ = ["FEATURES", "INPUTS", "METRICS", "NEEDS_MASKS", "MetricRegistry", "MetricSpec", "metric_names"]
