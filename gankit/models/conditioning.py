"""Class conditioning shared by the model families: option checks and the discriminator's heads.

A generator reads labels through its ``cond`` option (``concat``, ``cbn``, ``biggan``, by
family); a discriminator through ``cond`` (``concat``, ``projection``) and, orthogonally, class
heads (``aux_classifier``: ACGAN, Odena et al. 2017; ``tac``: TAC-GAN's twin classifier, Gong et al.
2019). ``num_classes`` comes from the task (0 = unconditional); ``cond: none`` ignores it and builds
exactly the unconditional network.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.nn import ProjectionHead

G_PATH, D_PATH = "model.generator", "model.discriminator"


def check_cond(path: str, cond: str, num_classes: int) -> None:
    """A conditional ``cond`` needs labels: num_classes >= 1."""
    if cond != "none" and num_classes < 1:
        raise ConfigError(
            f"{path}.cond: {cond!r} conditions on class labels, but this task gives none (num_classes = "
            f"{num_classes}). Use cond: none, or a class-conditional task."
        )


def require_labels(c: torch.Tensor | None, path: str, what: str) -> torch.Tensor:
    """``c`` itself, or a clear error that a conditional network was called without labels."""
    if c is None:
        raise ConfigError(
            f"{path}: {what} makes this network class-conditional; call it with labels c of shape (N,), got c=None."
        )
    return c


class ConditionalDiscriminator(nn.Module):
    """``forward(x, c=None, with_logits=False)`` for every family, from ``features`` and ``head``.

    The adversarial score is ``head(features(x, c))``; with ``cond: projection`` the class term
    ``<embed(c), features(x)>`` is added (Miyato & Koyama 2018), so phi is the feature vector the
    last layer reads and psi that layer. ``with_logits=True`` also returns the class logits of the
    ACGAN head (and TAC's twin head): linear layers on the same features, so the classifier shares
    D's whole trunk (Odena et al. 2017, section 3; Gong et al. 2019, section 3.2). ``tac: true``
    builds both heads, whatever ``aux_classifier`` says: TAC-GAN's D always has the classifier.
    Subclasses build ``features(x, c=None)``, ``head(f)`` and ``_score(x)`` (the unconditional
    network, unchanged) and call :meth:`_init_cond` once their layers exist.
    """

    cond: str = "none"
    num_classes: int = 0

    def _init_cond(self, cond: str, num_classes: int, feat_dim: int, aux_classifier: bool, tac: bool) -> None:
        check_cond(D_PATH, cond, num_classes)
        for key, on in (("aux_classifier", aux_classifier), ("tac", tac)):
            if on and num_classes < 1:
                raise ConfigError(
                    f"{D_PATH}.{key}: a class head needs class labels, but this task gives none (num_classes = "
                    f"{num_classes}). Set {key}: false, or use a class-conditional task."
                )
        self.cond, self.num_classes = cond, num_classes
        self.proj = ProjectionHead(feat_dim, num_classes) if cond == "projection" else None
        self.aux = nn.Linear(feat_dim, num_classes) if aux_classifier or tac else None  # TAC has both heads
        self.twin = nn.Linear(feat_dim, num_classes) if tac else None

    def labels(self, c: torch.Tensor | None) -> torch.Tensor:
        return require_labels(c, f"{D_PATH}.cond", repr(self.cond))

    def features(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def head(self, f: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _score(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def forward(
        self, x: torch.Tensor, c: torch.Tensor | None = None, with_logits: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if self.cond == "none" and not with_logits:
            return self._score(x)
        if with_logits and self.aux is None:
            raise ConfigError(f"{D_PATH}.aux_classifier: this discriminator has no class head; set aux_classifier: true.")
        f = self.features(x, c)
        s = self.head(f)
        if self.proj is not None:
            s = s + self.proj(f, self.labels(c))
        if not with_logits:
            return s
        logits = self.aux(f)  # type: ignore[misc]
        return (s, logits) if self.twin is None else (s, logits, self.twin(f))


__all__ = ["G_PATH", "D_PATH", "check_cond", "require_labels", "ConditionalDiscriminator"]
