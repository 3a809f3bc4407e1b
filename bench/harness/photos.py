"""Photo-like JPEGs for uploads and seeded evidence: of a given size, and made unique so that the same picture is
not refused as a duplicate upload."""

from __future__ import annotations

import io
import random


def make_jpeg(rng: random.Random, target_kib: int = 200) -> bytes:
    """A photo-like JPEG of about target_kib: smooth gradients with noise, as a phone photo of a meeting."""
    from PIL import Image, ImageDraw, ImageFilter

    size = (1280, 960)
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    noise = Image.effect_noise(size, 60).convert("RGB")
    image = Image.blend(base, noise, 0.35).filter(ImageFilter.SMOOTH)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle((x, y, x + rng.randrange(40, 300), y + rng.randrange(40, 200)),
                       fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    best = b""
    for quality in (95, 90, 85, 80, 75, 70, 60, 50, 40):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        best = out.getvalue()
        if len(best) <= target_kib * 1024 * 1.1:
            break
    return best


def unique_jpeg(base: bytes, tag: str) -> bytes:
    """The same picture with a JPEG comment (COM segment) after SOI: other bytes, so not a duplicate upload."""
    payload = tag.encode()
    return base[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + base[2:]


def photo(rng: random.Random, kib: int) -> bytes:
    """A photo-like JPEG of about `kib` KiB (make_jpeg, scaled down until it fits when asked for less)."""
    from PIL import Image

    data = make_jpeg(rng, kib)
    image = Image.open(io.BytesIO(data))
    while len(data) > kib * 1024 * 1.1 and image.width > 80:
        image = image.resize((int(image.width * 0.7), int(image.height * 0.7)))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=75)
        data = out.getvalue()
    if len(data) < kib * 1024 * 0.9:  # make_jpeg tops out near 1 MB at quality 95: pad with an APPn segment
        data = padded(data, kib * 1024)
    return data


def padded(jpeg: bytes, size: int) -> bytes:
    """The same JPEG grown to `size` bytes with APP15 segments (ignored by decoders), as camera metadata is."""
    out = bytearray(jpeg[:2])
    missing = size - len(jpeg)
    while missing > 4:
        chunk = min(missing - 4, 65533)
        out += b"\xff\xef" + (chunk + 2).to_bytes(2, "big") + bytes(chunk)
        missing -= chunk + 4
    return bytes(out + jpeg[2:])
