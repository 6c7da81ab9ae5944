"""What a trick is: a switch bound to a named network or to the inputs or targets of a phase.

A trick is one file in the subfolder of its kind -- ``wrappers/`` (spectral norm, PacGAN),
``inputs/`` (DiffAugment, instance noise), ``targets/`` (label smoothing and flipping),
``averagers/`` (EMA, historical averaging), ``scorers/`` (unrolled D, feature matching) and
``penalties/`` (R1/R2, DRAGAN, computed by :mod:`gankit.objectives.penalties`) -- registered with
``@TRICKS.register("name")``. A recipe lists them::

    regularizers:
      - {name: spectral_norm}
      - {name: r1, gamma: 10, every: 16}     # lazy: its own phase, every 16 steps, scaled by 16
      - {name: diffaugment, policy: [translation, cutout]}

Every hook has a do-nothing default, so a trick only says what it changes. A trick sees the
networks it names through :class:`Assembly` (build time) and :class:`TrickEnv` (after the engine
set up), never the engine itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Sequence

import torch
from torch import nn

from gankit.core.clock import Clock
from gankit.core.errors import ConfigError
from gankit.core.objective import Targets
from gankit.core.registry import Registry

TRICKS: Registry[Any] = Registry("regularizer", "gankit.tricks")


@dataclass
class Assembly:
    """The named networks while a task builds them; ``builders`` rebuild one for another input shape."""

    nets: dict[str, nn.Module]
    builders: dict[str, Callable[[tuple[int, ...]], nn.Module]]
    sample_shape: tuple[int, ...]
    batch_size: int

    def rebuild(self, name: str, shape: tuple[int, ...]) -> nn.Module:
        return self.builders[name](shape)


@dataclass
class TrickEnv:
    """Named plain networks, the optimizer stepping each network and its recipe settings, the other tricks."""

    raw: Mapping[str, nn.Module]
    optimizer_of: Mapping[str, torch.optim.Optimizer]  # network name -> the optimizer stepping it
    optim_cfg_of: Mapping[str, Any]  # network name -> its OptimizerConfig
    tricks: Sequence["Trick"] = ()


@dataclass
class StepContext:
    """What a trick may look at during one GAN phase. Tensors are the ones the loss saw."""

    clock: Clock
    D: nn.Module  # the discriminator as the engine wrapped it (call this one in the D phase)
    G: nn.Module
    real: torch.Tensor | None = None  # D's real input after the input transforms
    fake: torch.Tensor | None = None  # D's fake input after the input transforms
    real_scores: torch.Tensor | None = None
    fake_scores: torch.Tensor | None = None
    loss: Any = None  # the AdversarialLoss
    logs: dict[str, torch.Tensor] = field(default_factory=dict)  # tensors to log, no sync needed

    @property
    def step(self) -> int:
        return self.clock.step


class Trick:
    """Every hook is optional; ``kind`` is the subfolder it lives in."""

    kind: ClassVar[str] = ""
    #: Needs the loss to accept soft targets (label smoothing/flipping).
    needs_targets: ClassVar[bool] = False
    #: Replaces D(fake) as the scores G is trained on (unrolled D; feature matching with replace).
    scores_for_g: bool = False
    #: A penalty with ``every > 1`` runs in its own lazy phase (see ``core/phase.py``).
    every: int = 1

    # -- build time
    def wrap(self, asm: Assembly) -> None:
        """Change the named networks before optimizers exist (spectral norm, packing)."""

    def bind(self, env: TrickEnv) -> None:
        """Once the engine has set up the networks (EMA copies, historical buffers, D's optimizer)."""

    # -- inputs and targets of D, in every phase that scores samples
    def transform_input(self, x: torch.Tensor, clock: Clock) -> torch.Tensor:
        return x

    def targets(self, targets: Targets, clock: Clock) -> Targets:
        return targets

    # -- loss terms
    def d_term(self, ctx: StepContext) -> torch.Tensor | None:
        """An extra D loss term (R1, R2, DRAGAN, historical averaging); logged under ``ctx.logs``."""
        return None

    def g_scores(self, ctx: StepContext, fake: torch.Tensor) -> torch.Tensor | None:
        """Score G's samples some other way (unrolled D); None means D(fake) as usual."""
        return None

    def g_term(self, ctx: StepContext) -> torch.Tensor | None:
        """An extra G loss term (feature matching, historical averaging)."""
        return None

    def after_step(self, network: str, clock: Clock) -> None:
        """After the optimizer stepping ``network`` has stepped (averagers)."""

    # -- kept networks, checkpoints
    def averaged(self) -> dict[str, nn.Module]:
        """Networks this trick keeps that no optimizer trains (``G_ema``); checkpointed by name."""
        return {}

    def extra_weights(self) -> dict[str, dict[str, torch.Tensor]]:
        """Tensors saved beside the networks, by name (historical means)."""
        return {}

    def load_extra_weights(self, weights: dict[str, dict[str, torch.Tensor]]) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def build_tricks(specs: list[Any]) -> list[Trick]:
    """``specs`` are ``ComponentConfig``s from the recipe's ``regularizers`` list."""
    return [TRICKS.build(s.name, s.params, f"regularizers[{i}]") for i, s in enumerate(specs)]


def one_score_replacer(tricks: Sequence[Trick], who: str) -> None:
    """At most one trick may replace the scores G is trained on."""
    if sum(bool(t.scores_for_g) for t in tricks) > 1:
        raise ConfigError(
            f"{who}: another regularizer also replaces the scores G is trained on "
            "(unrolled, or feature_matching with replace: true); keep one."
        )
