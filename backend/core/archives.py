"""Zip bombs: one check of a zip's declared sizes, for every path that opens an uploaded zip (OOXML evidence, plan
.docx files, responsibility tables).

zipfile (and python-docx and openpyxl through it) never inflates an entry past its declared size, so checking the
declared sizes before anything reads the entries bounds what any later reader inflates. A small file whose parts
claim to expand hundreds of times (a 1 MB .docx whose document.xml inflates to 1 GB) is refused before it is read.
"""

import zipfile

MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_UNCOMPRESSED = 256 * 2**20
MAX_ZIP_RATIO = 200  # per entry, for entries above 1 MB uncompressed
RATIO_FROM = 2**20


class ZipBomb(Exception):
    """The archive would expand past the limits; nothing in it was inflated."""


def check_zip(archive: zipfile.ZipFile, *, max_total: int | None = None) -> None:
    """Raises ZipBomb when `archive` has too many entries, would inflate past `max_total` (default
    MAX_ZIP_UNCOMPRESSED) in all, or has an entry over 1 MB that expands more than MAX_ZIP_RATIO times."""
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise ZipBomb
    limit = MAX_ZIP_UNCOMPRESSED if max_total is None else min(max_total, MAX_ZIP_UNCOMPRESSED)
    total = 0
    for entry in entries:
        total += max(0, entry.file_size)
        ratio = entry.file_size / max(entry.compress_size, 1)
        if total > limit or (entry.file_size > RATIO_FROM and ratio > MAX_ZIP_RATIO):
            raise ZipBomb
