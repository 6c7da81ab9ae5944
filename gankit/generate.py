"""Load a trained generator from a run folder or checkpoint and draw samples from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gankit.config import Config, DataConfig, validate
from gankit.train.checkpoint import load_checkpoint, resolve_checkpoint
from gankit.utils.images import save_grid, save_scatter, to_uint8


def sample_shape(data: DataConfig) -> tuple[int, ...]:
    """The shape of one training item, known from the config alone."""
    if data.name in ("ring8", "grid25"):
        return (2,)
    return (data.channels, data.image_size, data.image_size)


@dataclass
class LoadedGenerator:
    G: nn.Module
    cfg: Config
    step: int
    path: Path

    @property
    def is_vector(self) -> bool:
        return len(sample_shape(self.cfg.data)) == 1

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, batch_size: int = 256, device: str | torch.device = "cpu") -> torch.Tensor:
        """n samples as float32 on CPU: images in [-1, 1] (N,C,H,W) or points (N,D). Seeded."""
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.cfg.model.z_dim, generator=gen)
        self.G.to(device).eval()
        return torch.cat([self.G(chunk.to(device)).float().cpu() for chunk in z.split(batch_size)])


def load_generator(path: str | Path, prefer_ema: bool = True) -> LoadedGenerator:
    """The generator of a run folder (newest checkpoint) or checkpoint; its EMA copy where one was kept."""
    from gankit.train.build import build_gan

    ckpt_path = resolve_checkpoint(path)
    ckpt = load_checkpoint(ckpt_path)
    cfg = validate(ckpt.state["config"])
    G = build_gan(cfg, sample_shape(cfg.data)).G  # with the same wrappers (spectral norm) as in training
    name = "G_ema" if prefer_ema and (ckpt_path / "G_ema.safetensors").is_file() else "G"
    G.load_state_dict(ckpt.weights(name))
    G.eval()
    return LoadedGenerator(G=G, cfg=cfg, step=ckpt.step, path=ckpt_path)


def write_samples(samples: torch.Tensor, out: str | Path, data_name: str = "") -> Path:
    """``.npy``: uint8 N x C x H x W for images, float32 N x D for vectors; ``.png``: grid or scatter."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    vector = samples.dim() == 2
    if out.suffix == ".npy":
        arr = samples.numpy().astype(np.float32) if vector else to_uint8(samples).numpy()
        np.save(out, arr)
    elif vector:
        from gankit.data.toy2d import mixture_params

        means = mixture_params(data_name)[0] if data_name in ("ring8", "grid25") else None
        save_scatter(samples, out, means)
    else:
        save_grid(to_uint8(samples), out)
    return out
