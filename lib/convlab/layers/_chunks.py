"""How many images a layer processes at once, so that its scratch buffers stay in the CPU cache.

The fast layers loop over the batch in chunks and reuse one set of scratch buffers from chunk to
chunk: a buffer that fits in the cache is still there when the next step reads it, and memory the
process already touched costs no page faults (fresh pages are slow on a busy machine).
"""

from __future__ import annotations

__all__ = ["CHUNK_BYTES", "images_per_chunk"]

CHUNK_BYTES = 1 << 20
"""Target size of one chunk's largest scratch buffer (about half of a 2 MiB per-core L2 cache)."""


def images_per_chunk(n_images: int, bytes_per_image: int) -> int:
    """The chunk length: as many images as fit in ``CHUNK_BYTES`` (at least one, at most all)."""
    return max(1, min(n_images, CHUNK_BYTES // max(bytes_per_image, 1)))
