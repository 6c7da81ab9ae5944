"""The numbers behind the health rules, each with where it comes from, and the rule and record-key names.

Loss-specific numbers (what a "near zero" D loss or a "saturated" G loss is) are not here: they
live with each loss as its :class:`~gankit.core.objective.LossProfile`, derived from
:data:`CONFIDENT_D_FAKE` below.
"""

from __future__ import annotations

#: Log records per sliding window. With the default ``log.log_every: 50`` this is 500 steps:
#: long enough that one noisy batch cannot trigger a rule.
DEFAULT_WINDOW = 10

#: Healthy D accuracy (mean of real and fake accuracy) in practice: D is better than chance but
#: not perfect (Chintala et al., "How to train a GAN" / ganhacks; Goodfellow's NIPS 2016 tutorial).
HEALTHY_D_ACCURACY = (0.6, 0.8)
#: D accuracy at or above this on *every* record of the window: D separates real from fake almost
#: perfectly and G learns little (the "D wins" failure of ganhacks tip 14).
OVERPOWER_ACCURACY = 0.95
#: D's mean probability on fakes below this: D is confident (sigmoid losses: its gradient for G
#: through log(1 - D) vanishes, Arjovsky & Bottou 2017).
CONFIDENT_D_FAKE = 0.05
#: G gradient norm (window median) below this fraction of its peak this run: a 20x collapse.
VANISH_FRACTION = 0.05
#: Evaluations in a row that must show the collapse (one evaluation is one noisy batch).
COLLAPSE_EVALS = 2
#: Mean pairwise feature distance of generated samples below this fraction of the real batch's:
#: collapsed GANs measure 0.1-0.3, healthy ones 0.7-1.0 on Fashion-MNIST features.
COLLAPSE_DIVERSITY_RATIO = 0.5
#: Diversity fell below this fraction of its own best value this run (collapse after progress).
COLLAPSE_DROP = 0.5
#: Class-histogram KL to uniform in excess of the real data's, in nats: log 2 = 0.69 is as
#: concentrated as losing half of the classes (all mass on one of 10 classes gives log 10 = 2.3).
COLLAPSE_CLASS_KL = 0.7
#: 2D mixtures: fewer than this fraction of the modes covered (Metz et al. 2017 report 1-3 of 8).
COLLAPSE_MODES_FRACTION = 0.5
#: A fresh generator ignores its noise (diversity ~0), so absolute collapse criteria wait this many
#: generator steps; by then a working DCGAN on Fashion-MNIST draws recognisable, varied items.
COLLAPSE_WARMUP_STEPS = 1000
#: Loss standard deviation over the window this many times that of the previous window (a
#: variance ratio of 16) ...
OSCILLATION_STD_RATIO = 4.0
#: ... and swinging by at least this fraction of the loss's own scale: a jump, not noise.
OSCILLATION_REL_AMPLITUDE = 0.5
#: Median |loss| this many times that of the previous window: divergence.
DIVERGENCE_FACTOR = 10.0
#: Median D gradient norm this many times that of the previous window: exploding gradients.
GRAD_EXPLOSION_FACTOR = 100.0

#: The shipped Fashion-MNIST classifier's test accuracy (``gankit/assets/fmnist_classifier.json``):
#: the ceiling of class consistency, since even real test images of class k score only this.
FMNIST_CLASSIFIER_ACCURACY = 0.9298
#: ``labels_ignored`` fires while class consistency is less than this fraction of the way from
#: chance (1/K) to the classifier's ceiling. A G that ignores its label scores exactly 1/K whatever
#: it draws (the requested class is independent of the drawn one and the requests are balanced:
#: sum_k 1/K * P(drawn = k) = 1/K), even a collapsed one; a G that honours a fraction q of the
#: classes scores about 1/K + q * (ceiling - 1/K). So the rule reads "G draws the asked class for
#: fewer than a quarter of the classes". For K = 10 that is 0.1 + 0.25 * 0.83 = 0.31, more than 10
#: standard errors above chance at the monitor's 256 samples (sqrt(0.1 * 0.9 / 256) = 0.019).
LABELS_IGNORED_FRACTION = 0.25


def labels_ignored_threshold(chance: float, ceiling: float = FMNIST_CLASSIFIER_ACCURACY) -> float:
    """Class consistency below which ``labels_ignored`` fires, for chance level ``chance`` (1/K)."""
    return chance + LABELS_IGNORED_FRACTION * (ceiling - chance)


#: ADA's augmentation probability at or above this on every record of the window: D still
#: overfits the reals although most of what it sees is augmented (Karras et al. 2020 report p
#: settling at 0.2-0.6 for 2k-140k images; a p near 1 means the heuristic has run out of room).
ADA_SATURATED_P = 0.8

#: StyleGAN2's path-length term (``g_pl``, weight x penalty) above this multiple of G's adversarial
#: loss over the whole window: G is optimising smoothness of W -> image more than realism.
PL_DOMINATES_FACTOR = 1.0
#: The mean path length (``g_pl_length``) growing by this factor from the previous window to this
#: one: the mapping from W to images is becoming ill-conditioned, which precedes divergence.
PL_GROWTH_FACTOR = 4.0

RULES = ("overpowering", "vanishing_gradients", "mode_collapse", "labels_ignored", "oscillation", "nan", "augmentation_saturated",
         "path_length_unstable", "reconstruction_drift", "domains_ignored")
LOSS_KEYS = ("d_loss", "g_loss", "d_total", "g_total")
GRAD_KEYS = ("grad_norm_d", "grad_norm_g")
