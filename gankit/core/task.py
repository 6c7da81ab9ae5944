"""A task: what kind of batch it eats, which named networks it builds, which phases train them, and
which module is its inference path. The engine, checkpoints, logging and ``gankit.load`` are generic
over the names a task declares; a GAN variant is a task plus a recipe, never a copy of the loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, TypedDict

import torch
from torch import nn

from gankit.core.clock import Clock
from gankit.core.phase import Phase


class Signature(TypedDict):
    """The inference module's contract, as plain data (export and serving read it)."""

    task: str
    z_dim: int  # 0 when the module takes no noise
    num_classes: int  # 0 when unconditional
    input_shape: list[int] | None  # an image-to-image module's input (C, H, W); None for noise
    output_shape: list[int]  # (C, H, W) or (D,)
    value_range: list[float]  # of the module's raw output, e.g. [-1, 1]
    output: str  # "image" | "vector"


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer named in ``optim.<name>`` of the recipe, stepping the listed networks."""

    networks: tuple[str, ...]
    #: lr/betas adjustment of a lazy phase sharing this optimizer (1.0: none).
    lazy_ratio: float = 1.0


@dataclass
class TaskEnv:
    """What a task (and its tricks) may bind to once the engine has set the networks up."""

    nets: Mapping[str, nn.Module]  # engine-wrapped
    raw: Mapping[str, nn.Module]
    optimizers: Mapping[str, torch.optim.Optimizer]
    device: torch.device


class Task(ABC):
    """Subclass, register with ``@TASKS.register(name)``, and list phases; see ``tasks/gan.py``."""

    #: Batch fields the task needs from its data source.
    needs: ClassVar[tuple[str, ...]] = ("x",)
    #: Whether the inference module maps images to images (no in-loop FID from noise; `gankit eval` measures it).
    image_to_image: ClassVar[bool] = False

    def __init__(self, cfg: Any, sample_shape: tuple[int, ...]) -> None:
        self.cfg = cfg
        self.sample_shape = tuple(sample_shape)

    @abstractmethod
    def build(self) -> dict[str, nn.Module]:
        """Every named network, seeded from the recipe, with its wrappers applied."""

    @abstractmethod
    def build_inference(self) -> nn.Module:
        """Only the inference module (for sampling, eval, export): no D, no optimizers."""

    @abstractmethod
    def optimizers(self) -> dict[str, OptimizerSpec]:
        """Optimizer name (a key of ``optim:``) -> the networks it steps."""

    @abstractmethod
    def phases(self, clock: Clock) -> list[Phase]:
        """The phases of the step at ``clock``, in order (may change with the step: growth, pre-training)."""

    @abstractmethod
    def signature(self) -> Signature: ...

    #: Network holding the inference module's weights (G_ema where kept; see ``inference_weights``).
    inference_net: ClassVar[str] = "G"

    def inference_weights(self, saved: set[str]) -> str:
        """Which saved network the inference path loads: its EMA copy where one was kept."""
        ema = f"{self.inference_net}_ema"
        return ema if ema in saved else self.inference_net

    def metrics(self) -> tuple[str, ...]:
        """Metrics of ``gankit eval`` that apply to this task's samples."""
        return ()

    def bind(self, env: TaskEnv) -> None:
        """Called once the engine has wrapped the networks and built the optimizers."""

    def averaged(self) -> Mapping[str, nn.Module]:
        """Networks that are kept (and checkpointed) but not trained by any optimizer (G_ema)."""
        return {}

    def inference_module(self, nets: Mapping[str, nn.Module]) -> nn.Module:
        """The module samples come from during training (EMA copy where kept)."""
        return nets.get(f"{self.inference_net}_ema", nets[self.inference_net])

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...
