"""Request and response schemas of the HTTP API, built per app so /docs shows the real bounds
(``n`` up to this server's ``--max-n``, ``class`` up to this model's classes).

Unknown fields are refused (a misspelt ``"trunction"`` would otherwise be silently ignored).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from gankit.serve.limits import MAX_SEED, Settings


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body: what was wrong and what was expected."""

    detail: str


class Health(BaseModel):
    status: str


@dataclass(frozen=True)
class Models:
    generate: type[BaseModel]
    interpolate: type[BaseModel]
    style_mix: type[BaseModel]


Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
_STRICT = ConfigDict(extra="forbid", populate_by_name=True)


def request_models(settings: Settings, num_classes: int) -> Models:
    """The JSON request bodies of this server (bounds from its settings and its model)."""
    cls_max = {"le": num_classes - 1} if num_classes else {}
    cls_doc = (f"class index 0..{num_classes - 1} (null: every class in turn)" if num_classes
               else "unconditional model: must be null")  # fmt: skip
    seed_doc = f"0..{MAX_SEED}"

    class GenerateRequest(BaseModel):
        model_config = _STRICT
        n: int = Field(1, ge=1, le=settings.max_n, description=f"images, 1..{settings.max_n} (the server's --max-n)")
        seed: Optional[int] = Field(None, ge=0, le=MAX_SEED, description=f"{seed_doc}; chosen at random (and returned in X-Seed) when absent")
        klass: Optional[int] = Field(None, alias="class", ge=0, description=cls_doc, **cls_max)
        truncation: Optional[float] = Field(None, ge=0.0, le=1.0, description="psi in [0, 1]; 1 (default) is no truncation")
        format: Literal["png", "npy"] = Field("png", description="png: a grid; npy: N x C x H x W uint8")

    class InterpolateRequest(BaseModel):
        model_config = _STRICT
        seed_from: int = Field(..., ge=0, le=MAX_SEED, description=f"first end, {seed_doc}")
        seed_to: int = Field(..., ge=0, le=MAX_SEED, description=f"last end, {seed_doc}")
        steps: int = Field(8, ge=2, le=settings.max_steps, description=f"frames including both ends, 2..{settings.max_steps}")
        klass: Optional[int] = Field(None, alias="class", ge=0, description=cls_doc.replace("every class in turn", "class 0"), **cls_max)
        truncation: Optional[float] = Field(None, ge=0.0, le=1.0, description="psi in [0, 1]")
        format: Literal["png", "gif", "npy"] = Field("png", description="png: a strip; gif: an animation; npy: uint8 frames")

    m = settings.max_mix_seeds

    class StyleMixRequest(BaseModel):
        model_config = _STRICT
        row_seeds: list[Seed] = Field([0, 1, 2, 3], min_length=1, max_length=m, description=f"1..{m} seeds; rows take the columns' styles")
        col_seeds: list[Seed] = Field([10, 11, 12, 13], min_length=1, max_length=m, description=f"1..{m} seeds")
        layers: str = Field("coarse", min_length=1, max_length=200, description="coarse, middle, fine, or w indices like 0-3")
        klass: Optional[int] = Field(None, alias="class", ge=0, description=cls_doc.replace("every class in turn", "class 0"), **cls_max)

    return Models(GenerateRequest, InterpolateRequest, StyleMixRequest)


#: Statuses every /v1 operation may answer with an ErrorResponse (documented for clients and the fuzzer).
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {400: "the request does not fit this model (a class for an unconditional one, ...)",
                       401: "missing or wrong API key", 413: "upload or body too large", 415: "not a PNG/JPEG image",
                       422: "a field out of range or malformed", 503: "queue full or shutting down (see Retry-After)",
                       504: "the model did not answer in time"}.items()  # fmt: skip
}

PNG = {"content": {"image/png": {}}, "description": "a PNG image"}
IMAGE_OR_NPY = {"content": {"image/png": {}, "application/octet-stream": {}},
                "description": "a PNG (format png) or the bytes of a .npy file (format npy, uint8 N x C x H x W)"}  # fmt: skip
IMAGE_GIF_OR_NPY = {"content": {"image/png": {}, "image/gif": {}, "application/octet-stream": {}},
                    "description": "a PNG strip, an animated GIF, or a .npy of the frames"}  # fmt: skip
