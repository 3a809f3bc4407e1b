"""Opening an uploaded picture with a pixel budget: the one place that sets Pillow's limits for Luoshi.

A picture's size in bytes says nothing of what decoding it costs: a 688 KB PNG of 13,300 × 13,300 pixels took the
thumbnailer to ~2 GB. Here the header (read without decoding a pixel) is checked against `MAX_PIXELS` before
anything decodes it; a JPEG is first asked to decode at a reduced scale (`draft`), so a large photo costs only what
its thumbnail needs. Pillow's own `MAX_IMAGE_PIXELS` is set to the same budget, so any other `Image.open` in the
process refuses pictures past twice it (Pillow's DecompressionBombError).
"""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

# Decoded pixels at most: 40 MP is ~160 MB as RGBA. Phone photos are JPEG (decoded at a reduced scale below) or
# HEIC up to 48 MP; a picture past this gets no thumbnail and no EXIF time, and is still kept as evidence.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own check below refuses, with a reason


class ImageTooLarge(Exception):
    """The picture would decode to more than MAX_PIXELS pixels; nothing was decoded."""


@contextmanager
def open_image(path: Path, *, fit: tuple[int, int] | None = None) -> Iterator[Image.Image]:
    """The picture at `path`, opened (header only) and checked against MAX_PIXELS. With `fit`, a JPEG decodes at
    the smallest scale that still covers `fit`. Raises ImageTooLarge, or what Pillow raises for unreadable files."""
    try:
        opened = Image.open(path)
    except Image.DecompressionBombError as error:  # past twice the budget: Pillow refuses from the header itself
        raise ImageTooLarge(str(error)) from None
    with opened as image:
        if fit is not None and image.format == "JPEG":
            image.draft("RGB", fit)  # JPEG decodes at 1/2, 1/4 or 1/8 scale: less memory and time
        if image.width * image.height > MAX_PIXELS:
            raise ImageTooLarge(f"{image.width}×{image.height} pixels")
        yield image
