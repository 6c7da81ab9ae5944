"""Feature matching (Salimans et al. 2016, "Improved Techniques for Training GANs", 3.1).

G is asked to match the mean of D's penultimate features on real data,
weight * ||E f(x_real) - E f(G(z))||^2, instead of (``replace: true``) or besides (the default)
fooling D. Matching statistics rather than beating the current D is a stable target that
counters over-training on D and mode collapse; alone it tends to give blurrier samples, so the
default adds it to the adversarial loss.

``f`` is ``D.features`` (the DCGAN and MLP discriminators have it: the flattened activations the
last layer sees). Real features come from the last D phase's real batch (``ctx.real``, after any
augmentation), computed without gradient; fakes are G's current samples.

``replace: true`` is done without touching the loop: D's scores for G are returned detached, so
the adversarial term still shows in ``g_loss`` but contributes no gradient; ``g_total`` logs the
sum. It cannot be combined with another remedy that replaces the scores (unrolled).
"""

from __future__ import annotations


import torch

from gankit.errors import ConfigError
from gankit.tricks.base import TRICKS, Assembly, StepContext, Trick, TrickEnv, one_score_replacer


def _innermost(D: torch.nn.Module) -> torch.nn.Module:
    while hasattr(D, "inner"):
        D = D.inner
    return D


@TRICKS.register("feature_matching")
class FeatureMatching(Trick):
    kind = "scorer"
    key = "fm"

    def __init__(self, weight: float = 1.0, replace: bool = False) -> None:
        if weight <= 0:
            raise ConfigError(f"feature_matching.weight: must be > 0, got {weight}.")
        self.weight, self.replace = weight, replace
        self.scores_for_g = replace
        self._fake_features: torch.Tensor | None = None

    def wrap(self, asm: Assembly) -> None:
        D = _innermost(asm.nets["D"])
        if not (hasattr(D, "features") and hasattr(D, "head")):
            raise ConfigError(
                f"feature_matching: discriminator {type(D).__name__} has no features()/head(); "
                "use model.discriminator.name: dcgan or mlp."
            )

    def bind(self, env: TrickEnv) -> None:
        if self.replace:
            one_score_replacer(env.tricks, "feature_matching.replace")

    def g_scores(self, ctx: StepContext, fake: torch.Tensor) -> torch.Tensor | None:
        if not self.replace:
            return None
        f = ctx.D.features(fake)
        self._fake_features = f
        return ctx.D.head(f).detach()  # the adversarial term: logged, no gradient

    def g_term(self, ctx: StepContext) -> torch.Tensor | None:
        if ctx.real is None or ctx.fake is None:
            return None
        f_fake, self._fake_features = self._fake_features, None
        if f_fake is None:
            f_fake = ctx.D.features(ctx.fake)
        with torch.no_grad():
            f_real = ctx.D.features(ctx.real.detach())
        fm = (f_real.float().mean(0) - f_fake.float().mean(0)).pow(2).sum()
        ctx.logs["fm"] = fm.detach()
        return self.weight * fm
