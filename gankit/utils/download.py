"""One streaming download with a progress bar, shared by every dataset fetcher."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from pathlib import Path

from gankit.utils.progress import progress_bar


def stream_to(url: str, path: Path, desc: str, progress: bool) -> str | None:
    """Download ``url`` into ``path`` with a progress bar; the reason it failed (None: it worked)."""
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(path, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with progress_bar(total=total, unit="B", unit_scale=True, desc=desc, disable=not progress) as bar:
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        return str(getattr(e, "reason", None) or e)
    return None


__all__ = ["stream_to"]
