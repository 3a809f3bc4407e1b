"""The time a photo was taken, from its EXIF, and nothing else of it."""

from backend.core import images
from backend.evidence import exif
from tests.evidence import samples


def test_time_taken_is_read_and_blank_or_missing_times_are_none(tmp_path):
    path = tmp_path / "p.jpg"
    path.write_bytes(samples.photo("2026:11:09 08:30:00"))
    assert exif.taken_at(path).isoformat() == "2026-11-09T08:30:00"
    path.write_bytes(samples.photo("    :  :     :  :  "))
    assert exif.taken_at(path) is None
    path.write_bytes(samples.jpeg())  # no EXIF at all
    assert exif.taken_at(path) is None
    path.write_bytes(samples.pdf())  # not a picture
    assert exif.taken_at(path) is None
    assert exif.parse_stamp(b"2026:02:30 10:00:00") is None and exif.parse_stamp("1970:01:01 00:00:00") is None


def test_a_picture_over_the_pixel_budget_is_not_read(tmp_path, monkeypatch):
    path = tmp_path / "p.jpg"
    path.write_bytes(samples.photo("2026:11:09 08:30:00"))
    monkeypatch.setattr(images, "MAX_PIXELS", 64 * 48 - 1)
    assert exif.taken_at(path) is None
