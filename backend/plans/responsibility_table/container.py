"""Reading the file: refuse what is not an .xlsx (saying what it is instead), zip bombs and huge merges, then load."""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from typing import NoReturn

from backend.core.archives import ZipBomb, check_zip
from backend.i18n import N_, _

from .model import TO_XLSX, ResponsibilityTableError

MAX_UNCOMPRESSED = 100 * 1024 * 1024  # refuse zip bombs before openpyxl inflates them
MAX_MERGED_CELLS = 2_000_000  # openpyxl creates one object per merged cell


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary Office container (.xls, .et, encrypted .xlsx)
_DAMAGED = N_("文件已损坏或不完整（可能没有上传完），无法读取：请在 Excel 中打开确认无误，%(hint)s")
# what a zip holds instead of a workbook → what to tell the user
_OTHER_ZIPS = (
    ("xl/workbook.bin", N_("这是 Excel 二进制工作簿（.xlsb），无法读取：%(hint)s")),
    ("word/document.xml", N_("这是 Word 文档，不是 Excel 表格：请把任务分解表复制到 Excel 中，另存为 .xlsx 后上传")),
    ("ppt/presentation.xml", N_("这是 PowerPoint 文件，不是 Excel 表格：请上传任务分解表的 .xlsx 文件")),
    ("content.xml", N_("这是 WPS/OpenOffice 格式（.ods/.et）的表格，无法读取：%(hint)s")),
)


def _check_container(data: bytes) -> None:
    """Refuse, with a message saying what the file is, anything that is not a readable .xlsx of sane size."""
    if not data:
        raise ResponsibilityTableError(_("文件是空的（0 字节），请重新选择任务分解表 .xlsx 文件上传"))
    if data[:8] == _OLE:
        _refuse_ole(data)
    if data[:4] != b"PK\x03\x04" and data[:4] != b"PK\x05\x06":
        _refuse_not_zip(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            bomb = _is_bomb(zf)
    except Exception as exc:  # any failure here means a damaged archive
        raise ResponsibilityTableError(_(_DAMAGED, hint=_(TO_XLSX))) from exc
    if "xl/workbook.xml" not in names:
        _refuse_other_zip(names)
    if bomb:
        raise ResponsibilityTableError(_("表格解压后过大，无法读取：请删去多余的工作表、图片和空行后重新保存上传"))
    try:
        merged = _merged_area(data)
    except Exception as exc:  # a damaged member (bad CRC, truncated deflate stream)
        raise ResponsibilityTableError(_(_DAMAGED, hint=_(TO_XLSX))) from exc
    if merged > MAX_MERGED_CELLS:
        raise ResponsibilityTableError(
            _("表格里有覆盖整行整列的超大合并单元格，无法读取：请选中整个工作表，取消合并单元格后只合并需要的格子，重新保存上传")
        )


def _refuse_ole(data: bytes) -> NoReturn:
    if "EncryptedPackage".encode("utf-16-le") in data or b"EncryptionInfo" in data.replace(b"\x00", b""):
        raise ResponsibilityTableError(
            _(
                "文件设置了打开密码，无法读取：请在 Excel 中打开，"
                "依次点“文件 → 信息 → 保护工作簿 → 用密码进行加密”，清空密码并保存后重新上传"
            )
        )
    raise ResponsibilityTableError(_("这是旧版 Excel（.xls）或 WPS 格式的文件，无法读取：%(hint)s", hint=_(TO_XLSX)))


def _refuse_not_zip(data: bytes) -> NoReturn:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<html", b"<!doctype", b"<table", b"<?xml", b"<meta")):
        raise ResponsibilityTableError(
            _("这是网页（HTML/XML）格式的表格，虽然扩展名可能是 .xls，但不是 Excel 文件：%(hint)s", hint=_(TO_XLSX))
        )
    if data[:5] == b"%PDF-":
        raise ResponsibilityTableError(_("这是 PDF 文件，不是 Excel 表格：请上传任务分解表的 .xlsx 文件"))
    if _looks_like_text(data):
        raise ResponsibilityTableError(_("这是 CSV 或文本文件，不是 Excel 表格：%(hint)s", hint=_(TO_XLSX)))
    raise ResponsibilityTableError(_("这不是 Excel 文件（.xlsx），无法读取：%(hint)s", hint=_(TO_XLSX)))


def _refuse_other_zip(names: set[str]) -> NoReturn:
    for member, message in _OTHER_ZIPS:
        if member in names:
            raise ResponsibilityTableError(_(message, hint=_(TO_XLSX)))
    raise ResponsibilityTableError(_("这是一个压缩包，不是 Excel 表格（.xlsx）：%(hint)s", hint=_(TO_XLSX)))


_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="\$?([A-Z]{1,3})\$?(\d{1,7}):\$?([A-Z]{1,3})\$?(\d{1,7})"')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _is_bomb(zf: zipfile.ZipFile) -> bool:
    try:
        check_zip(zf, max_total=MAX_UNCOMPRESSED)
    except ZipBomb:
        return True
    return False


def _merged_area(data: bytes) -> int:
    """Cells covered by merges in all sheets: openpyxl makes an object for each, so A:XFD merges must be refused."""
    area = 0
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                continue
            body = zf.read(info)
            for m in _MERGE_REF.finditer(body):
                rows = abs(int(m.group(4)) - int(m.group(2))) + 1
                cols = abs(_col_number(m.group(3)) - _col_number(m.group(1))) + 1
                area += rows * cols
    return area


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    for enc in ("utf-8", "gb18030"):
        try:
            text = sample.decode(enc)
        except UnicodeDecodeError:
            continue
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
        return printable >= 0.95 * max(1, len(text))
    return False


def load_workbook(data: bytes):
    _check_container(data)
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - deployment problem, not the user's
        raise ResponsibilityTableError(_("服务器缺少读取 .xlsx 的组件（openpyxl），请联系管理员")) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=False)
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise ResponsibilityTableError(
            _("文件已损坏或不是有效的 .xlsx，无法读取：请在 Excel 中打开确认无误，%(hint)s", hint=_(TO_XLSX))
        ) from exc
