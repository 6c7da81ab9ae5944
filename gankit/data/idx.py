"""IDX files (the MNIST / Fashion-MNIST container format), read with numpy alone.

The format is a 4-byte magic (0x00 0x00, a dtype code, the number of dimensions), one
big-endian uint32 per dimension, then the raw big-endian values. Files are usually gzipped;
we detect that from the content, not the name, so renamed or un-gzipped copies still work.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from pathlib import Path

import numpy as np

from gankit.data.fetch import SPLIT_PREFIX, dataset_spec, find_dataset
from gankit.errors import DataError

_GZIP_MAGIC = b"\x1f\x8b"
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES: dict[str, int] = {dt.str[1:]: code for code, dt in _DTYPES.items()}


def _decode(raw: bytes, path: Path) -> np.ndarray:
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(
                f"{path}: corrupt or truncated gzip data ({e}). Delete the file and fetch it again."
            ) from None
    if len(raw) < 4:
        raise DataError(f"{path}: only {len(raw)} bytes; an IDX file starts with a 4-byte header.")
    zero, code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or code not in _DTYPES or ndim == 0:
        raise DataError(
            f"{path}: not an IDX file (magic bytes {raw[:4].hex()}; expected 0000, a dtype code "
            f"08/09/0b/0c/0d/0e and a dimension count >= 1)."
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes, {ndim} dimensions need {header}).")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        state = "truncated" if actual < expected else "has trailing bytes"
        raise DataError(
            f"{path}: IDX file {state}: header says shape {dims} of {dtype.name} ({expected} data bytes), "
            f"found {actual}. Delete the file and fetch it again."
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    arr.setflags(write=False)
    return arr


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, mtime_ns: int, size: int) -> np.ndarray:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise DataError(f"{p}: cannot read IDX file ({e.strerror or e}).") from None
    return _decode(raw, p)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzip or raw) into a read-only array in native byte order.

    Results are cached per (path, mtime, size): repeated loads in one process are free, and
    read-only arrays keep callers from corrupting the cache (``np.array(a)`` for a copy).
    """
    p = Path(path).expanduser().resolve()
    try:
        st = p.stat()
    except OSError:
        raise DataError(f"{p}: IDX file not found.") from None
    if not p.is_file():
        raise DataError(f"{p}: expected an IDX file, found a directory or special file.")
    return _read_cached(str(p), st.st_mtime_ns, st.st_size)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as IDX (gzipped when the name ends in .gz); for tests and exports."""
    arr = np.asarray(array)
    key = arr.dtype.str[1:]
    if key not in _CODES or arr.ndim == 0:
        raise ValueError(f"write_idx: unsupported array {arr.dtype} with {arr.ndim} dims")
    head = bytes([0, 0, _CODES[key], arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    body = head + arr.astype(arr.dtype.newbyteorder(">"), copy=False).tobytes()
    p = Path(path)
    p.write_bytes(gzip.compress(body, compresslevel=6, mtime=0) if p.name.endswith(".gz") else body)


def _pick(folder: Path, gz_name: str) -> Path:
    gz = folder / gz_name
    return gz if gz.exists() else folder / gz_name.removesuffix(".gz")


def load_idx_dataset(name: str, split: str, root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load an MNIST-style split: (images uint8 (N, H, W) read-only, labels int64 (N,)).

    ``root`` is the folder holding the four standard files; None searches the gankit data
    cache and the system dataset folders (see :func:`gankit.data.fetch.find_dataset`).
    """
    spec = dataset_spec(name)
    if split not in SPLIT_PREFIX:
        raise DataError(f"unknown split {split!r} for {name}; valid: {', '.join(SPLIT_PREFIX)} (data.split).")
    folder = find_dataset(name, root, split=split)
    img_name, lbl_name = spec.split_files(split)
    img_path, lbl_path = _pick(folder, img_name), _pick(folder, lbl_name)
    images, labels = read_idx(img_path), read_idx(lbl_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(f"{img_path}: expected uint8 images of shape (N, H, W), got {images.dtype} {images.shape}.")
    if labels.ndim != 1:
        raise DataError(f"{lbl_path}: expected labels of shape (N,), got {labels.shape}.")
    if len(images) != len(labels):
        raise DataError(
            f"{folder}: {img_path.name} has {len(images)} images but {lbl_path.name} has {len(labels)} labels; "
            f"the files come from different releases or one is damaged. Fetch both again."
        )
    return images, labels.astype(np.int64)
