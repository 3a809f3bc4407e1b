"""Type detection from bytes and safe names, without a database."""

import pytest

from backend.core import archives
from backend.errors import InvalidInput
from backend.evidence import filetypes
from backend.evidence.routes import content_disposition
from tests.evidence import samples


def detect(tmp_path, data: bytes, name: str) -> filetypes.Detected:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return filetypes.detect(path, data[:8192], name)


@pytest.mark.parametrize("raw, clean", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\张三\\Desktop\\照片 2024..jpg", "照片 2024.jpg"),
    ("报告\u202egpj.exe", "报告gpj.exe"),  # right-to-left override removed
    ("a\x00b\x1fc.pdf", "abc.pdf"),
    ("  .hidden  ", "hidden"),
    ("..", "佐证材料"),
    ("", "佐证材料"),
    ("CON.docx", "_CON.docx"),
    ('工作<总结>:"第1期"|?*.docx', "工作_总结___第1期____.docx"),
    ("第一季度\n\t汇报.pptx", "第一季度 汇报.pptx"),
    ("ｆｕｌｌｗｉｄｔｈ.pdf", "ｆｕｌｌｗｉｄｔｈ.pdf"),
])
def test_safe_filename(raw, clean):
    assert filetypes.safe_filename(raw) == clean


def test_long_names_keep_their_extension():
    name = filetypes.safe_filename("很" * 400 + ".xlsx")
    assert name.endswith(".xlsx") and len(name) <= 255


@pytest.mark.parametrize("name, detected, result", [
    ("photo.exe", ("image", "jpg"), "photo.jpg"),
    ("photo.JPEG", ("image", "jpg"), "photo.JPEG"),
    ("会议纪要", ("pdf", "pdf"), "会议纪要.pdf"),
    ("2024.第二季度", ("pdf", "pdf"), "2024.第二季度.pdf"),
    ("旧版.wps", ("document", "doc"), "旧版.wps"),
    ("汇报.dps", ("presentation", "ppt"), "汇报.dps"),
])
def test_the_extension_matches_what_the_file_is(name, detected, result):
    kind, extension = detected
    assert filetypes.with_extension(name, filetypes.Detected(kind, extension, "x")) == result


def test_content_disposition_carries_the_chinese_name_safely():
    header = content_disposition("attachment", '第一季度 "总结".docx')
    assert header.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E7%AC%AC%E4%B8%80%E5%AD%A3%E5%BA%A6%20%22%E6%80%BB%E7%BB%93%22.docx" in header
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and fallback.endswith(".docx")


def test_an_svg_with_a_byte_order_mark_or_comment_is_still_an_svg(tmp_path):
    for data in (b"\xef\xbb\xbf" + samples.SVG, b"<!-- made by hand -->\n<svg onload='alert(1)'></svg>"):
        with pytest.raises(InvalidInput, match="SVG"):
            detect(tmp_path, data, "图.png")


def test_an_html_page_named_pdf_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match="网页文件"):
        detect(tmp_path, b"\n  <html><body>%PDF-1.4</body></html>", "扫描件.pdf")


def test_an_ooxml_package_with_too_many_parts_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_ZIP_ENTRIES", 5)
    with pytest.raises(InvalidInput, match="压缩炸弹"):
        detect(tmp_path, samples.docx(), "a.docx")


def test_audio_and_avif_are_refused_with_advice(tmp_path):
    m4a = b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom" + b"\x00" * 32
    with pytest.raises(InvalidInput, match="音频文件"):
        detect(tmp_path, m4a, "录音.m4a")
    avif = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 32
    with pytest.raises(InvalidInput, match="AVIF"):
        detect(tmp_path, avif, "照片.avif")


@pytest.mark.parametrize("data", [b"Rar!\x1a\x07\x00" + b"\x00" * 20, b"7z\xbc\xaf\x27\x1c" + b"\x00" * 20,
                                  b"\x1f\x8b\x08" + b"\x00" * 20])
def test_archives_are_refused(tmp_path, data):
    with pytest.raises(InvalidInput, match="压缩包"):
        detect(tmp_path, data, "材料.rar")


def test_a_broken_ole_file_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match="已损坏"):
        detect(tmp_path, samples.ole()[:600], "旧文档.doc")
