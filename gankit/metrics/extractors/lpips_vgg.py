"""LPIPS-VGG v0.1 (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual
Metric"), the similarity network of the StyleGAN paper's perceptual path length.

d(x0, x1) = sum over layers l of mean over positions (h, w) of  w_l . (u0_lhw - u1_lhw)^2

where u_lhw is the channel vector of VGG16 layer l at (h, w) divided by its L2 norm (+ 1e-10), and
w_l >= 0 are the learned per-channel weights of the "lin" layers (1x1 convolutions without bias).
The layers are relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3 of torchvision's ``vgg16().features``
(64, 128, 256, 512, 512 channels). Images in [-1, 1] are shifted and scaled per RGB channel by the
constants of LPIPS' scaling layer (ImageNet's mean/std mapped to [-1, 1]).

Input choices of ours: grayscale is repeated to 3 channels. Images smaller than 32x32 are first
upsampled (bilinear, ``align_corners=False``) to 64x64: after VGG's four max-pools a 28x28 image has
a 1x1 relu5_3 map (and the pools' floor division drops border pixels), which would make the deepest
layer a single vector; at 64x64 it has 4x4 positions, as LPIPS' own 64x64 training patches do.
Larger images are used at their size (LPIPS is fully convolutional). The resize is linear, so a tiny
step in the image stays a tiny step. The network runs in float32 (``.double()`` for float64): for PPL's
1e-4 steps that costs ~0.1 % relative error in a path length (measured against float64).

Weights come only from files the caller names (gankit works offline and downloads nothing):

* ``vgg_weights``: a torchvision VGG16 state dict (``vgg16-397923af.pth``; ``features.N.weight/bias``,
  ``classifier.*`` ignored). A file named with torch hub's hash prefix is checked against it.
* ``lpips_weights``: the official LPIPS v0.1 lin layers (``lpips/weights/v0.1/vgg.pth``;
  ``lin0.model.1.weight`` ... ``lin4.model.1.weight``, shapes (1, C, 1, 1), non-negative).

Both may be ``.pth``/``.pt`` (read with ``torch.load(weights_only=True)``: nothing is unpickled but
tensors) or ``.safetensors``. Every key and shape is checked; a :class:`GankitError` names the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from gankit.errors import GankitError
from gankit.metrics._io import sha256_file_cached

NAME = "lpips-vgg-v0.1"
CHANNELS = (64, 128, 256, 512, 512)
SLICE_ENDS = (4, 9, 16, 23, 30)  # vgg16().features[prev:end] ends at relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
NORM_EPS = 1e-10
MIN_SIZE, UPSAMPLE_TO = 32, 64
SUFFIXES = (".pth", ".pt", ".safetensors")
LPIPS_SOURCE = "lpips/weights/v0.1/vgg.pth in https://github.com/richzhang/PerceptualSimilarity"
VGG_SOURCE = "https://download.pytorch.org/models/vgg16-397923af.pth (torchvision's ImageNet VGG16)"

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def missing_weights_message(lpips_weights: object = None, vgg_weights: object = None) -> str:
    """What to do when a weights file was not given (the CLI and evaluate() share it)."""
    missing = [n for n, v in (("--lpips-weights", lpips_weights), ("--vgg-weights", vgg_weights)) if v is None]
    hub = Path(torch.hub.get_dir()) / "checkpoints" / "vgg16-397923af.pth"
    return (
        f"PPL with LPIPS-VGG needs its weights files, and gankit does not download them (it runs offline); "
        f"missing: {' and '.join(missing)}. Pass `--lpips-weights PATH` (the LPIPS v0.1 linear layers, "
        f"{LPIPS_SOURCE}) and `--vgg-weights PATH` ({VGG_SOURCE}; if torchvision fetched it before it is at "
        f"{hub}); in Python: evaluate(..., ppl_similarity=\"lpips\", lpips_weights=PATH, vgg_weights=PATH)."
    )


def _load_tensors(path: str | Path, option: str) -> dict[str, torch.Tensor]:
    """A state dict of tensors from ``path``, never unpickling anything else."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise GankitError(f"{option} {p}: file not found.")
    if p.suffix.lower() not in SUFFIXES:
        raise GankitError(f"{option} {p}: expected a {', '.join(SUFFIXES)} file.")
    try:
        if p.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            state: object = load_file(str(p))
        else:
            state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError for a pickled object, a truncated file, not a zip/safetensors file
        first = (str(e).splitlines() or [""])[0][:200]
        raise GankitError(
            f"{option} {p}: cannot read it as a state dict of tensors ({e.__class__.__name__}: {first}). Only plain "
            "state dicts (torch.save(module.state_dict()) or safetensors) are accepted; pickled objects are refused."
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GankitError(f"{option} {p}: expected a dict of tensors (a state dict), got {type(state).__name__} "
                          "holding other values.")  # fmt: skip
    return state


def _expected_vgg_shapes() -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):  # the architecture only: no allocation, no random init
        from torchvision.models import vgg16

        return {f"features.{k}": tuple(v.shape) for k, v in vgg16(weights=None).features.state_dict().items()}


def _check(state: dict[str, torch.Tensor], expected: dict[str, tuple[int, ...]], option: str, path: str | Path,
           what: str, hint: str) -> None:  # fmt: skip
    missing = [k for k in expected if k not in state]
    if missing:
        raise GankitError(f"{option} {path}: not {what}: missing {', '.join(missing[:3])}"
                          f"{f' (and {len(missing) - 3} more)' if len(missing) > 3 else ''}. {hint}")  # fmt: skip
    for k, shape in expected.items():
        if tuple(state[k].shape) != shape:
            raise GankitError(f"{option} {path}: not {what}: {k} has shape {tuple(state[k].shape)}, expected {shape}. {hint}")
        if not state[k].is_floating_point() or not torch.isfinite(state[k]).all():
            raise GankitError(f"{option} {path}: {k} must hold finite floating-point numbers.")


def load_vgg_state(path: str | Path) -> dict[str, torch.Tensor]:
    """``features.*`` of a torchvision VGG16 state dict (keys ``N.weight/bias``), checked."""
    state = _load_tensors(path, "--vgg-weights")
    expected = _expected_vgg_shapes()
    hint = f"Expected torchvision's VGG16 state dict (features.N.weight/bias), e.g. vgg16-397923af.pth from {VGG_SOURCE}."
    if "lin0.model.1.weight" in state and "features.0.weight" not in state:
        hint = "This looks like the LPIPS linear-layer file: pass it as --lpips-weights. " + hint
    _check(state, expected, "--vgg-weights", path, "VGG16 weights", hint)
    extra = sorted(k for k in state if k.startswith("features.") and k not in expected)
    if extra:
        raise GankitError(f"--vgg-weights {path}: unexpected {', '.join(extra[:3])} (vgg16_bn or another VGG?); LPIPS "
                          f"uses plain VGG16. {hint}")  # fmt: skip
    from gankit.metrics.extractors.inception import hash_prefix

    prefix = hash_prefix(path)
    if prefix is not None and not sha256_file_cached(path).startswith(prefix):
        raise GankitError(f"--vgg-weights {path}: its SHA-256 does not start with {prefix}, the prefix in its name; the "
                          f"file is damaged or not the released weights. Download it again from {VGG_SOURCE}.")  # fmt: skip
    return {k[len("features."):]: state[k].float() for k in expected}


def load_lin_state(path: str | Path) -> list[torch.Tensor]:
    """The five lin-layer weights (1, C, 1, 1) of an LPIPS v0.1 VGG file, checked non-negative."""
    state = _load_tensors(path, "--lpips-weights")
    expected = {f"lin{i}.model.1.weight": (1, c, 1, 1) for i, c in enumerate(CHANNELS)}
    hint = f"Expected the official LPIPS v0.1 VGG linear layers (lin0.model.1.weight ... lin4.model.1.weight), {LPIPS_SOURCE}."
    if "features.0.weight" in state:
        hint = "This looks like VGG16 weights: pass it as --vgg-weights. " + hint
    _check(state, expected, "--lpips-weights", path, "LPIPS v0.1 VGG lin weights", hint)
    for k in expected:
        if (state[k] < 0).any():
            raise GankitError(f"--lpips-weights {path}: {k} has negative entries; LPIPS weights are non-negative "
                              f"(a distance must not be negative). {hint}")  # fmt: skip
    return [state[k].float() for k in expected]


class LPIPSVGG(nn.Module):
    """LPIPS-VGG v0.1 with given weights; ``net(x0, x1)`` is the per-pair distance, without gradients."""

    def __init__(self, vgg_state: dict[str, torch.Tensor], lin_weights: list[torch.Tensor]) -> None:
        super().__init__()
        from torchvision.models import vgg16

        with torch.device("meta"):
            features = vgg16(weights=None).features
        features.load_state_dict(vgg_state, assign=True)  # the file's tensors replace the meta ones
        starts = (0,) + SLICE_ENDS[:-1]
        self.slices = nn.ModuleList(nn.Sequential(*features[a:b]) for a, b in zip(starts, SLICE_ENDS))
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)
        for lin, w in zip(self.lins, lin_weights):
            lin.weight = nn.Parameter(w.clone())
        self.requires_grad_(False).eval()

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Float images in [-1, 1] (N x 1|3 x H x W) -> the scaled 3-channel input of the first slice."""
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise GankitError(f"LPIPS-VGG reads N x 1|3 x H x W images; got shape {tuple(images.shape)}.")
        ref = self.lins[0].weight  # the network's device and dtype (float32, or float64 after .double())
        x = images.to(ref.device, ref.dtype)
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        if x.shape[2] < MIN_SIZE or x.shape[3] < MIN_SIZE:
            x = F.interpolate(x, size=(UPSAMPLE_TO, UPSAMPLE_TO), mode="bilinear", align_corners=False)
        shift, scale = (torch.tensor(v, dtype=x.dtype, device=x.device).view(1, 3, 1, 1) for v in (SHIFT, SCALE))
        return (x - shift) / scale

    @torch.no_grad()
    def forward(self, img0: torch.Tensor, img1: torch.Tensor) -> torch.Tensor:
        if img0.shape != img1.shape:
            raise GankitError(f"LPIPS compares images of one shape; got {tuple(img0.shape)} and {tuple(img1.shape)}.")
        n = len(img0)
        h = self.prepare(torch.cat([img0, img1]))
        total = torch.zeros(n, dtype=h.dtype, device=h.device)
        for block, lin in zip(self.slices, self.lins):
            h = block(h)
            u = h / (h.square().sum(dim=1, keepdim=True).sqrt() + NORM_EPS)
            total = total + lin((u[:n] - u[n:]).square()).mean(dim=(1, 2, 3))
        return total


def resize_name(shape: tuple[int, ...]) -> str:
    """``Protocol.resize`` of LPIPS on images of C x H x W ``shape``."""
    c, h, w = shape
    parts = (["gray->rgb-repeat"] if c == 1 else []) + ([f"bilinear-{UPSAMPLE_TO}"] if min(h, w) < MIN_SIZE else [])
    return "+".join(parts) or "none"


class LoadedLPIPS:
    """A loaded network and where its weights came from (for the protocol)."""

    def __init__(self, net: LPIPSVGG, lpips_path: Path, vgg_path: Path) -> None:
        self.net, self.lpips_path, self.vgg_path = net, lpips_path, vgg_path
        both = sha256_file_cached(lpips_path) + sha256_file_cached(vgg_path)
        self.hash = hashlib.sha256(both.encode()).hexdigest()[:16]

    @property
    def description(self) -> str:
        return f"lpips-vgg v0.1 (weights: {self.lpips_path.name}, {self.vgg_path.name})"

    def distance(self, batch_size: int = 64) -> Distance:
        """d(img0, img1) -> float64 (N,) on the CPU, ``batch_size`` pairs per forward pass (memory-bounded)."""

        def d(img0: torch.Tensor, img1: torch.Tensor) -> torch.Tensor:
            parts = [self.net(img0[i : i + batch_size], img1[i : i + batch_size]) for i in range(0, len(img0), batch_size)]
            return torch.cat(parts).to("cpu", torch.float64)

        return d


_LOADED: dict[tuple, LoadedLPIPS] = {}


def load_lpips_vgg(lpips_weights: str | Path | None, vgg_weights: str | Path | None,
                   device: str | torch.device = "cpu") -> LoadedLPIPS:  # fmt: skip
    """The network with both files' weights on ``device`` (once per process and unchanged files)."""
    if lpips_weights is None or vgg_weights is None:
        raise GankitError(missing_weights_message(lpips_weights, vgg_weights))
    paths = [Path(lpips_weights).expanduser(), Path(vgg_weights).expanduser()]
    for p, option in zip(paths, ("--lpips-weights", "--vgg-weights")):
        if not p.is_file():
            raise GankitError(f"{option} {p}: file not found. {missing_weights_message()}")
    key = (str(device),) + tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    if key not in _LOADED:
        net = LPIPSVGG(load_vgg_state(paths[1]), load_lin_state(paths[0])).to(device)
        _LOADED[key] = LoadedLPIPS(net, paths[0], paths[1])
    return _LOADED[key]


def lpips_distance(lpips_weights: str | Path | None, vgg_weights: str | Path | None,
                   device: str | torch.device = "cpu") -> Distance:  # fmt: skip
    """A PPL distance: d(img0, img1) -> the LPIPS-VGG distance of each pair of float images in [-1, 1]."""
    return load_lpips_vgg(lpips_weights, vgg_weights, device).distance()


def clear_loaded() -> None:
    """Forget loaded networks (tests; after replacing a weights file)."""
    _LOADED.clear()


__all__ = ["LPIPSVGG", "LoadedLPIPS", "NAME", "clear_loaded", "load_lin_state", "load_lpips_vgg", "load_vgg_state",
           "lpips_distance", "missing_weights_message", "resize_name"]  # fmt: skip
