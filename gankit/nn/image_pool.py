"""A history of generated images for the discriminator (Shrivastava et al. 2017, section 2.3; CycleGAN section 4).

D is updated with fakes drawn partly from the last ``size`` generated images instead of only the
newest ones, so it does not forget earlier generator modes and G cannot oscillate between them.

:meth:`ImagePool.query` treats a batch one image at a time, in order: while fewer than ``size``
images are stored, the image is stored and returned; once full, with probability 1/2 a stored
image (uniformly chosen) is returned and the new one takes its place, otherwise the new one is
returned. ``size = 0`` passes batches through. The coin flips and slots come from the pool's own
CPU ``torch.Generator`` (seeded), never from the global RNG, so a run's other randomness is
untouched and :meth:`state_dict` (stored images, count, generator state: tensors and ints only,
as safetensors + JSON checkpoints need) restores the exact stream of later outputs on any device.
Returned images are detached: the pool feeds D's step only.
"""

from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    """``ImagePool(size=50, seed=0)``; ``pool.query(fakes)`` -> a batch of the same shape."""

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        if size < 0:
            raise ValueError(f"ImagePool size must be >= 0, got {size}")
        self.size = size
        self.count = 0
        self.images: torch.Tensor | None = None  # (size, C, H, W) once the first batch arrived
        self.generator = torch.Generator(device="cpu")
        self.generator.manual_seed(seed)

    def __len__(self) -> int:
        return self.count

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        images = images.detach()
        if self.size == 0:
            return images
        if self.images is None:
            self.images = images.new_empty((self.size, *images.shape[1:]))
        elif self.images.shape[1:] != images.shape[1:]:
            raise ValueError(f"ImagePool holds images of shape {tuple(self.images.shape[1:])}, got {tuple(images.shape[1:])}")
        self.images = self.images.to(device=images.device, dtype=images.dtype)
        n = images.shape[0]
        # Draw for every image whether or not it is used, so the stream depends only on the counts.
        swap = torch.rand(n, generator=self.generator) < 0.5
        slots = torch.randint(self.size, (n,), generator=self.generator)
        out = images.clone()
        for i in range(n):
            if self.count < self.size:
                self.images[self.count] = images[i]
                self.count += 1
            elif bool(swap[i]):
                k = int(slots[i])
                out[i] = self.images[k]
                self.images[k] = images[i]
        return out

    def state_dict(self) -> dict[str, Any]:
        stored = self.images[: self.count].detach().cpu().clone() if self.images is not None else torch.zeros(0)
        return {"size": self.size, "count": self.count, "images": stored, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["size"]) != self.size:
            raise ValueError(f"ImagePool of size {self.size} cannot load the state of a pool of size {state['size']}")
        self.count = int(state["count"])
        stored = torch.as_tensor(state["images"])
        if self.count:
            self.images = stored.new_empty((self.size, *stored.shape[1:]))
            self.images[: self.count] = stored[: self.count]
        else:
            self.images = None
        self.generator.set_state(torch.as_tensor(state["generator"], dtype=torch.uint8).clone())


__all__ = ["ImagePool"]
