"""Image -> image endpoint: ``POST /v1/translate`` (multipart) for translation (Pix2Pix, CycleGAN),
super-resolution, StarGAN (``target_class``) and inpainting (``mask``) runs.

Sizes: translators and StarGAN take exactly the signature's H x W (their training size);
super-resolution and inpainting nets are convolutional and take any H x W up to ``max_side`` per
side (a multiple of the network's stride, probed at start-up and listed in ``GET /v1/model``).
Channels are converted as `gankit translate` reads files: colour to luma for a grayscale model,
grey replicated for an RGB one, alpha dropped.

(No ``from __future__ import annotations``: FastAPI evaluates the handler's annotations.)
"""

from typing import Literal, Optional

import numpy as np
from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from gankit.serve import encode
from gankit.serve.limits import ApiError, decode_image, image_array, mask_array, read_upload
from gankit.serve.schemas import ERRORS, IMAGE_OR_NPY
from gankit.serve.state import ServeState


def input_info(st: ServeState) -> dict | None:
    """What /v1/translate accepts (in ``GET /v1/model``); None for a noise model."""
    b = st.backend
    if not b.is_translator:
        return None
    c, h, w = b.signature["input_shape"]
    multiple = b.size_multiple() if b.any_size else 0
    return {"channels": c, "height": h, "width": w, "any_size": bool(multiple), "size_multiple": multiple or None,
            "max_side": st.settings.max_side if multiple else max(h, w), "mask": b.task == "inpaint",
            "target_class": b.task == "stargan"}  # fmt: skip


def _check_size(st: ServeState, arr: np.ndarray) -> None:
    info = input_info(st)
    assert info is not None
    _, h, w = arr.shape
    if not info["any_size"]:
        if (h, w) != (info["height"], info["width"]):
            raise ApiError(422, f"image: expected {info['width']} x {info['height']} pixels (width x height, this model's "
                                f"input size), got {w} x {h}; resize it first.")  # fmt: skip
        return
    m = info["size_multiple"]
    if h % m or w % m:
        raise ApiError(422, f"image: width and height must be multiples of {m} for this network (at most "
                            f"{info['max_side']} each), got {w} x {h}.")  # fmt: skip


def router(st: ServeState) -> APIRouter:
    r = APIRouter(prefix="/v1", responses=ERRORS, tags=["translate"])
    b, s = st.backend, st.settings

    @r.post("/translate", response_class=Response, responses={200: IMAGE_OR_NPY})
    async def translate(
        image: UploadFile = File(..., description="PNG or JPEG input image"),
        mask: Optional[UploadFile] = File(None, description="inpainting runs: PNG, white / non-zero = hole, the image's size"),
        target_class: Optional[int] = Form(None, ge=0, description="StarGAN runs: the domain (class index) to translate into"),
        format: Literal["png", "npy"] = Form("png", description="png: the output image; npy: uint8 1 x C x H x W"),
    ) -> Response:
        """The model's output for one uploaded image (translated, upscaled or inpainted)."""
        if not b.is_translator:
            raise ApiError(400, f"/v1/translate: this {b.task} model generates from noise; use /v1/generate.")
        if b.task == "stargan":
            if target_class is None:
                raise ApiError(422, f"target_class: a StarGAN run translates into a chosen domain; send target_class 0..{b.num_classes - 1}.")
            if target_class >= b.num_classes:
                raise ApiError(422, f"target_class: this model has domains 0..{b.num_classes - 1}, got {target_class}.")
        elif target_class is not None:
            raise ApiError(400, f"target_class: this {b.task} run has no domains to choose (StarGAN runs do); leave it out.")
        if b.task == "inpaint" and mask is None:
            raise ApiError(422, "mask: an inpainting run needs the hole's mask: a PNG of the image's size, white (non-zero) = hole.")
        if b.task != "inpaint" and mask is not None:
            raise ApiError(400, f"mask: this {b.task} run does not inpaint; leave the mask out.")
        channels = int(b.signature["input_shape"][0])
        side = max(s.max_side, *b.signature["input_shape"][1:])  # a fixed-size model's mismatch is told by _check_size
        im, mode = decode_image(await read_upload(image, "image", s.max_upload_bytes), "image", side)
        pixels = image_array(im, channels)
        _check_size(st, pixels)
        x = (pixels.astype(np.float32) / 127.5 - 1.0)[None]
        c = None if b.task != "stargan" else np.array([target_class], np.int64)
        hole = None
        if mask is not None:
            m_im, _ = decode_image(await read_upload(mask, "mask", s.max_upload_bytes), "mask", side, mask=True)
            hole = mask_array(m_im)
            if hole.shape[1:] != pixels.shape[1:]:
                raise ApiError(422, f"mask: expected the image's size, {pixels.shape[2]} x {pixels.shape[1]} pixels, "
                                    f"got {hole.shape[2]} x {hole.shape[1]}.")  # fmt: skip
        out = encode.to_uint8(await st.translate(x, c, None if hole is None else hole[None].astype(np.float32)))[0]
        if hole is not None:  # the known pixels exactly as uploaded, as `gankit inpaint` returns them
            out = np.where(hole.astype(bool), out, pixels)
        headers = {"X-Input-Mode": mode, "X-Output-Size": f"{out.shape[2]}x{out.shape[1]}"}
        if format == "npy":
            return Response(encode.npy(out[None]), media_type="application/octet-stream", headers=headers)
        return Response(encode.png_image(out), media_type="image/png", headers=headers)

    return r
