"""Real files of every kind evidence accepts or refuses, made on the spot (no binary fixtures in git)."""

import io
import struct
import zipfile


def jpeg(width: int = 64, height: int = 32, *, orientation: int | None = None, color=(200, 30, 30)) -> bytes:
    """A JPEG whose left half is red and right half blue; with EXIF orientation if given."""
    from PIL import Image

    image = Image.new("RGB", (width, height), (20, 40, 220))
    image.paste(Image.new("RGB", (width // 2, height), color), (0, 0))
    out = io.BytesIO()
    if orientation is None:
        image.save(out, "JPEG", quality=95)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def photo(taken: str | None = "2026:11:09 08:30:00", *, color=(200, 30, 30), gps: bool = True) -> bytes:
    """A phone photo: a JPEG with EXIF DateTimeOriginal (`taken`) and, like a phone's, a GPS position."""
    from PIL import Image

    image = Image.new("RGB", (64, 48), color)
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (31.0, 14.0, 5.0), 3: "E", 4: (121.0, 28.0, 1.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 40, height: int = 40, *, alpha: bool = True) -> bytes:
    from PIL import Image

    image = Image.new("RGBA" if alpha else "RGB", (width, height), (10, 150, 10, 128) if alpha else (10, 150, 10))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("P", (8, 8), 1).save(out, "GIF")
    return out.getvalue()


def webp() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "WEBP")
    return out.getvalue()


def pdf(text: str = "Luoshi evidence") -> bytes:
    """A small, valid one-page PDF with a cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def docx(text: str = "工作进展：已完成专题学习12次。") -> bytes:
    from docx import Document

    document = Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["学校", "完成数"])
    sheet.append(["实验小学", 12])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pptx_like() -> bytes:
    """A minimal presentation package: enough of OOXML for the type check."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.presentationml.presentation.main+xml"/></Types>'))
        archive.writestr("ppt/presentation.xml", "<p:presentation/>")
    return out.getvalue()


def macro_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", (
            '<Types><Override PartName="/word/document.xml" '
            'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>'))
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/vbaProject.bin", b"\x00" * 100)
    return out.getvalue()


def zip_bomb_docx(uncompressed_mb: int = 300) -> bytes:
    """A real .docx with one extra part of zeros that inflates to `uncompressed_mb` MB (a few hundred KB packed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx()), "r") as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for entry in source.infolist():
            bomb.writestr(entry, source.read(entry))
        block = b"\x00" * 2**20
        with bomb.open("word/media/padding.bin", "w", force_zip64=True) as part:
            for _ in range(uncompressed_mb):
                part.write(block)
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("照片/1.jpg", jpeg())
    return out.getvalue()


def ole(stream_name: str = "WordDocument", *, clsid: bytes = b"\x00" * 16, size: int = 4096) -> bytes:
    """A minimal OLE2 compound file (what .doc/.xls/.ppt/.wps/.et are) with one stream in regular sectors."""
    sector = 512
    data_sectors = (size + sector - 1) // sector
    end, free, fat_sector, nostream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x003E, 0x0003, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x28, 0, 1, 1, 0, 0x1000, end, 0, end, 0)
    difat = [0] + [free] * 108
    struct.pack_into("<109I", header, 0x4C, *difat)
    fat = [fat_sector, end] + [3 + i if i < data_sectors - 1 else end for i in range(data_sectors)]
    fat += [free] * (128 - len(fat))
    fat_bytes = struct.pack("<128I", *fat)

    def entry(name: str, kind: int, child: int, start: int, length: int, entry_clsid: bytes = b"\x00" * 16) -> bytes:
        raw = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\x00\x00" if name else b""
        raw[0:len(encoded)] = encoded
        struct.pack_into("<HBB", raw, 0x40, len(encoded), kind, 1)
        struct.pack_into("<III", raw, 0x44, nostream, nostream, child)
        raw[0x50:0x60] = entry_clsid
        struct.pack_into("<IQ", raw, 0x74, start, length)
        return bytes(raw)

    directory = (entry("Root Entry", 5, 1, end, 0, clsid) + entry(stream_name, 2, nostream, 2, size)
                 + entry("", 0, nostream, 0, 0) + entry("", 0, nostream, 0, 0))
    body = (b"Luoshi legacy document " * (size // 23 + 1))[:size].ljust(data_sectors * sector, b"\x00")
    return bytes(header) + fat_bytes + directory + body


def mp4(size: int = 4096) -> bytes:
    header = struct.pack(">I", 24) + b"ftypmp42" + struct.pack(">I", 0) + b"isommp42"
    mdat_size = max(size - len(header), 8)
    return header + struct.pack(">I", mdat_size) + b"mdat" + b"\x11" * (mdat_size - 8)


def mov() -> bytes:
    ftyp = struct.pack(">I", 20) + b"ftypqt  " + struct.pack(">I", 0) + b"qt  "
    return ftyp + struct.pack(">I", 16) + b"mdat" + b"\x00" * 8


def heic() -> bytes:
    return struct.pack(">I", 24) + b"ftypheic" + struct.pack(">I", 0) + b"mif1heic" + b"\x00" * 64


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"This program cannot be run in DOS mode"
SCRIPT = b"#!/bin/sh\nrm -rf /\n"
TEXT = "这是一段纯文本，不是佐证材料。".encode()
