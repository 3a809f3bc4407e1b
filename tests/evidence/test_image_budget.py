"""Issue 14, finding 8: a 688 KB PNG of 13,300 × 13,300 pixels made the thumbnailer take ~2 GB.

The pictures here are real: made with Pillow, a palette PNG of that size compresses to a few kilobytes. The
thumbnailer and the EXIF reader both open pictures through backend.core.images, which checks the pixel count from
the header before decoding. Each is run in a child process with an address-space limit (backend.core.budget), so
"no big memory" is measured, not assumed: before the fix the thumbnailer needed more than 256 MB for this file.
"""

import io

import pytest
from PIL import Image

from backend.core import images
from backend.core.budget import run_bounded
from backend.evidence.exif import taken_at
from backend.evidence.thumbnails import render_thumbnail

MEMORY = 256 * 2**20


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "巨图.png"
    Image.new("P", (13_300, 13_300), 0).save(path, optimize=True)
    assert path.stat().st_size < 700 * 1024
    return path


async def test_the_thumbnailer_skips_a_huge_png_within_a_small_memory_budget(huge_png):
    assert await run_bounded(render_thumbnail, huge_png, seconds=60, memory_bytes=MEMORY) is None


async def test_the_exif_reader_skips_it_too(huge_png):
    assert await run_bounded(taken_at, huge_png, seconds=60, memory_bytes=MEMORY) is None


async def test_a_large_jpeg_photo_still_gets_its_thumbnail_decoded_at_a_reduced_scale(tmp_path):
    """A 48 MP photo is past the budget at full size, but a JPEG decodes at 1/8 scale for a thumbnail."""
    path = tmp_path / "照片.jpg"
    Image.new("RGB", (8000, 6000), (30, 120, 200)).save(path, quality=70)
    assert images.MAX_PIXELS < 8000 * 6000
    thumbnail = await run_bounded(render_thumbnail, path, seconds=60, memory_bytes=MEMORY)
    assert thumbnail is not None and Image.open(io.BytesIO(thumbnail)).size == (480, 360)


def test_the_header_is_checked_before_decoding(huge_png, tmp_path):
    assert Image.MAX_IMAGE_PIXELS == images.MAX_PIXELS  # set explicitly, for every Image.open in the process
    over = tmp_path / "略大.png"  # past the budget, under twice it (where Pillow itself would only warn)
    Image.new("1", (7_000, 7_000), 0).save(over)
    for path in (huge_png, over):
        with pytest.raises(images.ImageTooLarge), images.open_image(path):
            pass
