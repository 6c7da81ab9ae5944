"""Noise -> image endpoints: ``/v1/generate``, ``/v1/interpolate``, ``/v1/style-mix``, ``/v1/model/card.png``.

(No ``from __future__ import annotations`` here: FastAPI reads the per-app request models from the
handlers' annotations, which must be evaluated where the handlers are defined.)
"""

import secrets

import numpy as np
from fastapi import APIRouter
from fastapi.responses import Response

from gankit.serve import encode
from gankit.serve.limits import MAX_SEED, ApiError
from gankit.serve.schemas import ERRORS, IMAGE_GIF_OR_NPY, IMAGE_OR_NPY, PNG
from gankit.serve.state import ServeState

CARD_SEED, CARD_N = 0, 16


def _images(st: ServeState, out: np.ndarray, fmt: str, nrow: int | None = None) -> tuple[bytes, str]:
    if st.backend.is_vector:
        if fmt == "npy":
            return encode.npy(out.astype(np.float32)), "application/octet-stream"
        return encode.scatter_png(out), "image/png"
    images = encode.to_uint8(out)
    if fmt == "npy":
        return encode.npy(images), "application/octet-stream"
    if fmt == "gif":
        return encode.gif(images), "image/gif"
    return encode.png_grid(images, nrow=nrow), "image/png"


def _psi(st: ServeState, truncation: float | None) -> float:
    from gankit.errors import ConfigError

    try:
        return st.backend.check_psi(truncation)
    except ConfigError as e:
        raise ApiError(400, str(e)) from None


def router(st: ServeState) -> APIRouter:
    M = st.models
    r = APIRouter(prefix="/v1", responses=ERRORS, tags=["generate"])

    @r.post("/generate", response_class=Response, responses={200: IMAGE_OR_NPY})
    async def generate(req: M.generate) -> Response:
        """n images from one seed: a PNG grid or a .npy (uint8 N x C x H x W); the seed used is in X-Seed.

        The images of seed s are those of `gankit sample RUN --seed s --n N` (z = truncated_noise(n, z_dim, None, s))."""
        st.need_generator("/v1/generate")
        seed = req.seed if req.seed is not None else secrets.randbelow(MAX_SEED + 1)
        out = await st.seeded(req.n, seed, req.klass, _psi(st, req.truncation))
        body, media = _images(st, out, req.format)
        return Response(body, media_type=media, headers={"X-Seed": str(seed)})

    @r.post("/interpolate", response_class=Response, responses={200: IMAGE_GIF_OR_NPY})
    async def interpolate(req: M.interpolate) -> Response:
        """Frames from one seed to another: slerp in z (the length going linearly), as `gankit latent interpolate`."""
        import torch

        from gankit.latent.truncation import truncated_noise
        from gankit.metrics.ppl import lerp, slerp

        st.need_generator("/v1/interpolate")
        if st.backend.is_vector:
            raise ApiError(400, "/v1/interpolate draws image frames; this model outputs 2D points (use /v1/generate).")
        psi = _psi(st, req.truncation)
        zd, steps = int(st.backend.signature["z_dim"]), req.steps
        z0, z1 = truncated_noise(1, zd, None, req.seed_from), truncated_noise(1, zd, None, req.seed_to)
        t = torch.linspace(0, 1, steps)
        radius = lerp(z0.norm(dim=1), z1.norm(dim=1), t).reshape(-1, 1)
        z = (slerp(z0.expand(steps, -1), z1.expand(steps, -1), t) * radius).numpy().astype(np.float32)
        out = await st.generate(z, st.classes(req.klass, steps, every=False), psi)
        body, media = _images(st, out, req.format, nrow=steps if steps <= 16 else 8)
        return Response(body, media_type=media, headers={"X-Seed-From": str(req.seed_from), "X-Seed-To": str(req.seed_to)})

    @r.post("/style-mix", response_class=Response, responses={200: PNG})
    async def style_mix(req: M.style_mix) -> Response:
        """The style-mixing figure: the top row the column seeds, the left column the row seeds, each inner
        cell the row's image with ``layers`` (coarse, middle, fine or w indices) from the column (style-based runs)."""
        st.need_generator("/v1/style-mix")
        cells = await st.style_mix(list(req.row_seeds), list(req.col_seeds), req.layers, req.klass)
        return Response(encode.png_grid(cells, nrow=1 + len(req.col_seeds)), media_type="image/png")

    @r.get("/model/card.png", response_class=Response, responses={200: PNG})
    async def card() -> Response:
        """The model card's sample grid: seed 0, 16 images (every class in turn for a conditional model)."""
        if st.backend.is_translator:
            raise ApiError(404, f"a {st.backend.task} model translates uploaded images, so it has no sample grid; POST one to /v1/translate.")
        if st.card is None:
            out = await st.seeded(CARD_N, CARD_SEED, None, _psi(st, None))
            st.card = _images(st, out, "png")[0]
        return Response(st.card, media_type="image/png", headers={"X-Seed": str(CARD_SEED)})

    return r
