"""The interface between the training loop and the stabilisation tricks.

A regularizer is one file in this folder: subclass :class:`Regularizer`, override the hooks it
needs, and register it with ``@REGULARIZERS.register("name")``. A recipe lists them::

    regularizers:
      - {name: spectral_norm}
      - {name: r1, gamma: 10, every: 16}     # lazy: applied every 16 D steps, scaled by 16
      - {name: diffaugment, policy: [translation, cutout]}

The loop calls the hooks in list order; every hook has a do-nothing default, so a remedy only
says what it changes. Like stylegan2-ada's phases, a lazy term is just an interval on data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gankit.registry import Registry

if TYPE_CHECKING:
    from gankit.train.build import GanModel

REGULARIZERS: Registry[Any] = Registry("regularizer", "gankit.regularizers")


@dataclass
class StepContext:
    """What a hook may look at during one phase. Tensors are the ones the loss saw."""

    step: int  # generator steps completed before this one
    max_steps: int
    D: nn.Module  # the discriminator as the engine wrapped it (call this one in the D phase)
    G: nn.Module
    real: torch.Tensor | None = None  # D's real input after ``transform_d_input``
    fake: torch.Tensor | None = None  # D's fake input after ``transform_d_input``
    real_scores: torch.Tensor | None = None
    fake_scores: torch.Tensor | None = None
    loss: Any = None  # the AdversarialLoss
    d_step_index: int = 0  # counts D steps over the whole run (lazy intervals use it)
    logs: dict[str, torch.Tensor] = field(default_factory=dict)  # tensors to log, no sync needed


@dataclass
class Targets:
    """Per-sample D targets for the sigmoid/least-squares losses (smoothing, flipping)."""

    real: torch.Tensor
    fake: torch.Tensor


class Regularizer:
    """Every hook is optional. ``every`` (where a subclass takes it) makes a penalty lazy."""

    #: Needs the loss to accept soft targets (label smoothing/flipping).
    needs_targets: bool = False

    # -- build time
    def wrap(self, gan: "GanModel") -> None:
        """Change the networks before optimizers exist (spectral norm, packing)."""

    def setup(self, trainer: Any) -> None:
        """Called once the engine has set up the networks (EMA copies, historical buffers)."""

    # -- inputs to D, in both phases
    def transform_d_input(self, x: torch.Tensor, step: int, max_steps: int) -> torch.Tensor:
        """Applied to every real and fake batch before D sees it (augmentation, instance noise)."""
        return x

    # -- D phase
    def d_targets(self, targets: Targets, step: int) -> Targets:
        return targets

    def d_term(self, ctx: StepContext) -> torch.Tensor | None:
        """An extra D loss term (R1, R2, DRAGAN, historical averaging)."""
        return None

    # -- G phase
    def g_scores(self, ctx: StepContext, fake: torch.Tensor) -> torch.Tensor | None:
        """Score G's samples some other way (unrolled D); None means D(fake) as usual."""
        return None

    def g_term(self, ctx: StepContext) -> torch.Tensor | None:
        """An extra G loss term (feature matching, historical averaging)."""
        return None

    def after_g_step(self, trainer: Any) -> None:
        """After the G optimizer step (EMA)."""

    # -- sampling and checkpoints
    def sampling_generator(self) -> nn.Module | None:
        """A generator to sample and evaluate with instead of the trained one (EMA)."""
        return None

    def extra_weights(self) -> dict[str, dict[str, torch.Tensor]]:
        """Weights saved beside G and D in checkpoints, e.g. {"G_ema": state_dict}."""
        return {}

    def load_extra_weights(self, weights: dict[str, dict[str, torch.Tensor]]) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def build_regularizers(specs: list[Any]) -> list[Regularizer]:
    """``specs`` are ``ComponentConfig``s from the recipe's ``regularizers`` list."""
    return [REGULARIZERS.build(s.name, s.params, f"regularizers[{i}]") for i, s in enumerate(specs)]
