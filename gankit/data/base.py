"""What a data source is to the rest of gankit: a registered :class:`DataSpec` per ``data.name``.

A spec says what one item looks like, builds the resumable training source (which yields
:class:`~gankit.core.batch.Batch` es), loads the real items for evaluation, names its reference
splits, and says whether it has labels. Adding a dataset is one module in ``gankit/data/`` that
registers a spec with ``@SOURCES.register("name")``; everything else (config checks, evaluation,
plots, the doctor) asks the spec.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch

from gankit.core.registry import Registry

SOURCES: Registry[Any] = Registry("data source", "gankit.data")


class DataSpec:
    """One dataset family. Methods take the recipe's ``DataConfig``."""

    kind: ClassVar[Literal["image", "vector"]] = "image"
    has_labels: ClassVar[bool] = False

    def sample_shape(self, cfg: Any) -> tuple[int, ...]:
        """The shape of one item, from the config alone (the inference path builds G from it)."""
        return (cfg.channels, cfg.image_size, cfg.image_size)

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> Any:  # fmt: skip
        """The training batches; ``holdout``: leave the validation items out (checkpoint selection is on)."""
        raise NotImplementedError

    def load_real(self, cfg: Any, split: str | None, limit: int | None, seed: int) -> torch.Tensor:
        """Real items on CPU for evaluation: uint8 (N, C, S, S) or float32 (N, D), resized like training."""
        raise NotImplementedError

    def reference(self, cfg: Any, split: str) -> str | None:
        """The ``gankit eval`` reference spec for ``split`` (``val``/``test``), or None when there is none."""
        return None

    def mixture(self, cfg: Any) -> tuple[torch.Tensor, float] | None:
        """(means, sigma) of a synthetic mixture whose modes can be counted; None for real data."""
        return None


def data_spec(name: str) -> DataSpec:
    """The spec registered as ``name`` (a clear error naming the valid ones otherwise)."""
    return SOURCES.get(name, "data.name")()
