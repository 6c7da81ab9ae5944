"""What one training step eats: a small typed container whose fields every task reads by name.

Labels always flow (stylegan2-ada's ``c_dim=0`` convention): a labelled source fills ``c`` and an
unconditional task simply ignores it, so the same data source serves both.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Iterator

import torch

FIELDS = ("x", "c", "a", "b", "mask")


@dataclass
class Batch:
    """``x``: images (N, C, H, W) in [-1, 1] or vectors (N, D); ``c``: int64 class labels (N,);
    ``a``/``b``: paired or unpaired domain images; ``mask``: (N, 1, H, W) in {0, 1}."""

    x: torch.Tensor | None = None
    c: torch.Tensor | None = None
    a: torch.Tensor | None = None
    b: torch.Tensor | None = None
    mask: torch.Tensor | None = None

    def items(self) -> Iterator[tuple[str, torch.Tensor]]:
        """The fields that are set, in declaration order."""
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not None:
                yield f.name, v

    def __len__(self) -> int:
        for _, v in self.items():
            return int(v.shape[0])
        return 0

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "Batch":
        return replace(self, **{k: v.to(device, non_blocking=non_blocking) for k, v in self.items()})

    def split(self, n: int) -> list["Batch"]:
        """Pieces of at most ``n`` items (torch's ``split`` convention), every field cut alike."""
        if n < 1:
            raise ValueError(f"Batch.split: n must be >= 1, got {n}")
        parts = {k: v.split(n) for k, v in self.items()}
        count = max((len(p) for p in parts.values()), default=0)
        return [Batch(**{k: p[i] for k, p in parts.items()}) for i in range(count)]

    def require(self, *names: str, task: str = "this task") -> None:
        """A clear error when a source does not give what a task needs (labels, pairs, masks)."""
        from gankit.core.errors import DataError

        missing = [n for n in names if getattr(self, n) is None]
        if missing:
            raise DataError(f"{task} needs batch field(s) {', '.join(missing)}, which the data source does not provide.")
