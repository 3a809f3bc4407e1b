"""When a photo was taken, read from its EXIF (DateTimeOriginal) — and nothing else of it: the location (GPS) a
phone writes into the same block is never read, stored or shown (减负: no location is asked of schools)."""

import logging
import re
from datetime import datetime
from pathlib import Path

log = logging.getLogger("luoshi.evidence")

EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 0x9003
DATETIME = 0x0132  # when the file was last written: the fallback some cameras use
_STAMP = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


def taken_at(path: Path) -> datetime | None:
    """The camera's clock when the photo was taken (no zone: EXIF has none), or None. Runs in a worker thread."""
    from PIL import Image, UnidentifiedImageError

    from backend.core.images import ImageTooLarge, open_image

    try:
        # Reading EXIF decodes no pixels, but a picture past the pixel budget is not trusted further.
        with open_image(path) as image:
            exif = image.getexif()
            raw = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL) or exif.get(DATETIME)
    except (ImageTooLarge, UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
            SyntaxError) as error:
        log.info("no EXIF time: %s", error)
        return None
    return parse_stamp(raw)


def parse_stamp(raw) -> datetime | None:
    """"2026:11:10 09:30:00" → a datetime; blanks ("    :  :  ") and impossible dates → None."""
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "ignore")
    match = _STAMP.match(str(raw or "").strip())
    if not match:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    return moment if 1990 <= moment.year <= 2100 else None
