"""What an uploaded file really is, read from its bytes (never its name), and a display name that is safe to keep.

Allowed: photos (JPEG, PNG, GIF, WebP, HEIC), PDF, Office Open XML (.docx/.xlsx/.pptx, checked as a zip for
bombs and macros), legacy OLE compound documents (.doc/.xls/.ppt and WPS's .wps/.et/.dps) and MP4/MOV video.
Everything else is refused with a message that says what to upload instead.
"""

import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from backend.core.archives import ZipBomb, check_zip
from backend.errors import InvalidInput
from backend.i18n import N_, _

# Zip bombs: an OOXML file whose parts would expand past the limits of backend.core.archives is refused.

IMAGE_BRANDS_HEIC = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
VIDEO_BRANDS_QT = {b"qt  "}
VIDEO_BRANDS_MP4 = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41", b"mp42", b"mp71",
    b"avc1", b"M4V ", b"M4VH", b"M4VP", b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"dash", b"mmp4", b"MSNV", b"XAVC",
    b"f4v ", b"kddi", b"NDAS", b"CAEP",
}
MOV_ATOMS = {b"moov", b"mdat", b"wide", b"pnot"}
MSI_CLSIDS = {"000C1084-0000-0000-C000-000000000046", "000C1086-0000-0000-C000-000000000046"}

OOXML_TYPES = {
    "wordprocessingml.document.main+xml": ("document", "docx"),
    "wordprocessingml.template.main+xml": ("document", "docx"),
    "spreadsheetml.sheet.main+xml": ("spreadsheet", "xlsx"),
    "spreadsheetml.template.main+xml": ("spreadsheet", "xlsx"),
    "presentationml.presentation.main+xml": ("presentation", "pptx"),
    "presentationml.slideshow.main+xml": ("presentation", "pptx"),
}
MIME = {
    "jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp", "heic": "image/heic",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "doc": "application/msword", "xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint",
    "wps": "application/vnd.ms-works", "et": "application/vnd.ms-excel", "dps": "application/vnd.ms-powerpoint",
    "mp4": "video/mp4", "mov": "video/quicktime",
}
# Extensions each detected format may keep; a name with another extension gets the right one.
KEEPS = {
    "jpg": {"jpg", "jpeg", "jpe", "jfif"}, "png": {"png"}, "gif": {"gif"}, "webp": {"webp"}, "heic": {"heic", "heif"},
    "pdf": {"pdf"}, "docx": {"docx", "dotx", "wps"}, "xlsx": {"xlsx", "xltx", "et"}, "pptx": {"pptx", "ppsx", "dps"},
    "doc": {"doc", "dot", "wps"}, "xls": {"xls", "xlt", "et"}, "ppt": {"ppt", "pps", "pot", "dps"},
    "wps": {"wps"}, "et": {"et"}, "dps": {"dps"}, "mp4": {"mp4", "m4v", "3gp"}, "mov": {"mov", "qt"},
}
OLE_BY_EXTENSION = {
    "doc": ("document", "doc"), "dot": ("document", "doc"), "wps": ("document", "wps"),
    "xls": ("spreadsheet", "xls"), "xlt": ("spreadsheet", "xls"), "et": ("spreadsheet", "et"),
    "ppt": ("presentation", "ppt"), "pps": ("presentation", "ppt"), "dps": ("presentation", "dps"),
    # password-protected Office Open XML files are OLE containers too
    "docx": ("document", "docx"), "xlsx": ("spreadsheet", "xlsx"), "pptx": ("presentation", "pptx"),
}
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                    b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"dex\n", b"\x4c\x00\x00\x00\x01\x14\x02\x00")
ARCHIVE_MAGIC = (b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"MSCF",
                 b"\x28\xb5\x2f\xfd", b"PK\x05\x06", b"PK\x07\x08")
HTML_START = re.compile(rb"^\s*<(!doctype\s+html|html|head|body|script|iframe|frameset|meta|style|title|a\s|div|"
                        rb"p[\s>]|table|form|img|object|embed|link|base|b[\s>]|br|h1|!--)", re.IGNORECASE)
KNOWN_EXTENSIONS = {ext for group in KEEPS.values() for ext in group} | {
    "exe", "com", "bat", "cmd", "scr", "msi", "dll", "js", "vbs", "ps1", "sh", "py", "jar", "apk", "html", "htm",
    "xhtml", "svg", "svgz", "xml", "txt", "zip", "rar", "7z", "gz", "tar", "bmp", "tif", "tiff", "avif", "odt",
    "ods", "odp", "rtf", "lnk", "hta", "swf", "php", "asp", "jsp",
}
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
DEFAULT_NAME = "佐证材料"
# Formatting characters that are part of what a name shows: the joiners of emoji sequences (👨‍👩‍👧) and the tag
# characters of subdivision flags. The others (bidirectional overrides above all) are taken out.
EMOJI_JOINERS = {"\u200c", "\u200d", *map(chr, range(0xE0020, 0xE0080))}


KIND_LABELS = {"image": N_("图片"), "pdf": N_("PDF 文件"), "document": N_("文档"), "spreadsheet": N_("表格"),
               "presentation": N_("演示文稿"), "video": N_("视频")}


def kind_label(kind: str) -> str:
    """图片, 文档 … for a stored kind (image, document …); an unknown one as it is."""
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


@dataclass(frozen=True)
class Detected:
    kind: str  # image / pdf / document / spreadsheet / presentation / video
    extension: str  # the canonical extension of the detected format
    content_type: str


def allowed_hint() -> str:
    return _("请上传照片（JPG、PNG、GIF、WebP、HEIC）、PDF、Word / Excel / PowerPoint / WPS 文档，"
             "或 MP4 / MOV 短视频。")


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, field="file")


def _found(kind: str, extension: str) -> Detected:
    return Detected(kind, extension, MIME[extension])


def detect(path: Path, head: bytes, name: str) -> Detected:
    """The file's format from its bytes; raises InvalidInput (field "file") with what to upload instead."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if head.startswith(b"\xff\xd8\xff"):
        return _found("image", "jpg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _found("image", "png")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return _found("image", "gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _found("image", "webp")
    if head.startswith(b"%PDF-"):
        return _found("pdf", "pdf")
    if head[4:8] == b"ftyp":
        return _iso_media(head, name)
    if head[4:8] in MOV_ATOMS:
        return _found("video", "mov")
    if head.startswith(b"PK\x03\x04"):
        return _ooxml(path, name)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole(path, name, extension)
    raise _refuse(_unknown_message(head, name))


def _iso_media(head: bytes, name: str) -> Detected:
    size = int.from_bytes(head[:4], "big")
    major = head[8:12]
    brands = {major} | {head[i:i + 4] for i in range(16, min(size, len(head), 64), 4)}
    if major in IMAGE_BRANDS_HEIC or (major in (b"mif1", b"msf1") and brands & IMAGE_BRANDS_HEIC):
        return _found("image", "heic")
    if major in (b"M4A ", b"M4B ", b"M4P "):
        raise _refuse(_("“%(name)s”是音频文件，不能作为佐证材料上传。", name=name) + allowed_hint())
    if major in VIDEO_BRANDS_QT:
        return _found("video", "mov")
    if major in VIDEO_BRANDS_MP4 or brands & VIDEO_BRANDS_MP4:
        return _found("video", "mp4")
    if major in (b"avif", b"avis", b"mif1"):
        raise _refuse(_("“%(name)s”是 AVIF 图片，暂不支持。请在手机相册中导出为 JPG 后上传，"
                        "或直接截图上传。", name=name))
    raise _refuse(_unknown_message(head, name))


def _ooxml(path: Path, name: str) -> Detected:
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                check_zip(archive)
            except ZipBomb:
                raise _refuse(_bomb_message(name)) from None
            names = {entry.filename for entry in archive.infolist()}
            if "[Content_Types].xml" not in names:
                raise _refuse(_archive_message(name))
            types_entry = archive.getinfo("[Content_Types].xml")
            if types_entry.file_size > 2**20:
                raise _refuse(_bomb_message(name))
            content_types = archive.read(types_entry).decode("utf-8", "replace")
    except zipfile.BadZipFile as error:
        raise _refuse(_("“%(name)s”已损坏，无法打开。请用 Office 或 WPS 重新保存后再上传。", name=name)) from error
    if "macroEnabled" in content_types or any(n.lower().endswith("vbaproject.bin") for n in names):
        raise _refuse(_("“%(name)s”含有宏，为安全起见不能上传。"
                        "请另存为不含宏的 .docx / .xlsx / .pptx 或 PDF 后再上传。", name=name))
    for marker, (kind, extension) in OOXML_TYPES.items():
        if marker in content_types:
            return _found(kind, extension)
    raise _refuse(_("无法识别“%(name)s”的文件类型。", name=name) + allowed_hint())


def _ole(path: Path, name: str, extension: str) -> Detected:
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            clsid = (ole.root.clsid or "").upper() if ole.root is not None else ""
            streams = {"/".join(parts) for parts in ole.listdir(streams=True, storages=False)}
    except (OSError, ValueError, IndexError) as error:  # olefile raises these for broken containers
        raise _refuse(_("“%(name)s”已损坏，无法打开。请用 Office 或 WPS 重新保存后再上传。", name=name)) from error
    if clsid in MSI_CLSIDS:
        raise _refuse(_executable_message(name))
    ole_extension = extension if extension in ("wps", "et", "dps") else ""
    if "WordDocument" in streams:
        return _found("document", ole_extension or "doc")
    if "Workbook" in streams or "Book" in streams:
        return _found("spreadsheet", ole_extension or "xls")
    if "PowerPoint Document" in streams:
        return _found("presentation", ole_extension or "ppt")
    if extension in OLE_BY_EXTENSION:  # WPS's own formats and encrypted documents: trust the name for the kind
        kind, canonical = OLE_BY_EXTENSION[extension]
        return _found(kind, canonical)
    raise _refuse(_("无法识别“%(name)s”的文件类型。", name=name) + allowed_hint())


def _bomb_message(name: str) -> str:
    return _("“%(name)s”解压后过大或结构异常（疑似“压缩炸弹”），不能上传。"
             "请用 Office 或 WPS 重新保存，或另存为 PDF 后上传。", name=name)


def _archive_message(name: str) -> str:
    return _("“%(name)s”是压缩包，不能直接上传。请解压后逐个上传其中的照片、PDF 或文档。", name=name)


def _executable_message(name: str) -> str:
    return _("“%(name)s”是可执行程序，为安全起见不能上传。", name=name) + allowed_hint()


def _unknown_message(head: bytes, name: str) -> str:
    text = head.lstrip(b"\xef\xbb\xbf")
    lowered = text.lstrip().lower()
    if head.startswith(EXECUTABLE_MAGIC):
        return _executable_message(name)
    if head.startswith(ARCHIVE_MAGIC) or head[257:262] == b"ustar":
        return _archive_message(name)
    if b"<svg" in lowered[:4096] and (lowered.startswith((b"<svg", b"<?xml", b"<!doctype svg", b"<!--"))):
        return _("“%(name)s”是 SVG 矢量图，可能含有脚本，不能上传。"
                 "请转换为 PNG 或 JPG 图片（或截图）后再上传。", name=name)
    if HTML_START.match(text):
        return _("“%(name)s”是网页文件（HTML），不能作为佐证材料上传。"
                 "请在浏览器中“打印 → 另存为 PDF”，或截图后上传。", name=name)
    if text.startswith(b"#!") or lowered.startswith((b"@echo", b"<?php", b"<%")):
        return _("“%(name)s”是脚本程序，为安全起见不能上传。", name=name) + allowed_hint()
    if b"\x00" not in head[:4096] and _looks_like_text(head):
        return _("“%(name)s”是纯文本文件。文字内容请直接写进报告，或另存为 Word / PDF 后上传。", name=name)
    return _("无法识别“%(name)s”的文件类型。", name=name) + allowed_hint()


def _looks_like_text(head: bytes) -> bool:
    for encoding in ("utf-8", "gb18030"):
        try:
            head[:4000].decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False


# --- names -----------------------------------------------------------------------------------------------


def safe_filename(raw: str | None, default: str = DEFAULT_NAME) -> str:
    """A display name without folders, `..`, control or formatting characters; Chinese and spaces stay."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if ch in "\t\n\r" else ch for ch in name
                   if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or ch in "\t\n\r"
                   or ch in EMOJI_JOINERS)
    name = re.sub(r'[<>:"|?*]', "_", name)
    name = re.sub(r"\s+", " ", name)
    name = re.sub(r"\.{2,}", ".", name)
    name = name.strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if stem.split(".")[0].upper() in WINDOWS_RESERVED:
        stem = "_" + stem
    stem = stem[:200].rstrip(" .")
    ext = ext[:16]
    if not stem:
        stem = default
    return f"{stem}.{ext}" if ext else stem


def with_extension(name: str, detected: Detected) -> str:
    """The name with an extension that matches what the file is (photo.exe that is a JPEG → photo.jpg)."""
    stem, dot, ext = name.rpartition(".")
    if dot and ext.lower() in KEEPS[detected.extension]:
        return name
    if dot and ext.lower() in KNOWN_EXTENSIONS:
        name = stem
    return f"{name}.{detected.extension}"


def ascii_fallback(name: str) -> str:
    """For the plain `filename=` of Content-Disposition; the real name goes in `filename*`."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9 ._()-]", "_", plain).strip(" ._") or "evidence"
    ext = re.sub(r"[^A-Za-z0-9]", "", ext)
    return f"{plain}.{ext}" if ext else plain
