"""Bytes → text: .txt (UTF-8, GB18030/GBK, Big5, UTF-16/32 with or without BOM), .html, .docx (tables and
Word's automatic numbering included) and .pdf with a text layer. Anything else gets a PlanInputError whose
message tells the user, in Simplified Chinese, what to upload instead."""

from __future__ import annotations

import contextlib
import functools
import io
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser

from backend.core.archives import ZipBomb, check_zip
from backend.i18n import N_, _

from .lines import int_to_cn
from .model import PlanInputError
from .tables import MAX_CELLS, MAX_COLS, MAX_ROWS, CellBudget, Table, task_table, word_table, word_table_text

MAX_BYTES = 50 * 1024 * 1024
HINT = N_("请上传 .docx、.pdf（含文字）或 .txt 文件。")
SAVE_AS = N_("请用 Word 另存为 .docx 后上传。")
_IMAGE, _ARCHIVE, _MEDIA, _PROGRAM = N_("图片"), N_("压缩包"), N_("音视频"), N_("程序")
_MAGIC = (
    (b"\x89PNG", _IMAGE), (b"\xff\xd8\xff", _IMAGE), (b"GIF8", _IMAGE), (b"II*\x00", _IMAGE), (b"MM\x00*", _IMAGE),
    (b"BM", _IMAGE), (b"\x1f\x8b", _ARCHIVE), (b"Rar!", _ARCHIVE), (b"7z\xbc\xaf", _ARCHIVE), (b"OggS", _MEDIA),
    (b"ID3", _MEDIA), (b"\x00\x00\x00\x18ftyp", _MEDIA), (b"\x00\x00\x00\x20ftyp", _MEDIA), (b"MZ", _PROGRAM),
    (b"\x7fELF", _PROGRAM),
)


@dataclass
class DecodedText:
    text: str
    encoding: str | None
    source_format: str
    flags: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)  # task tables, each where it stood in `text`


def _ext(filename: str | None) -> str:
    if not filename or "." not in filename:
        return ""
    return filename.rsplit(".", 1)[-1].lower()


def decode_bytes(data: bytes, filename: str | None = None) -> DecodedText:
    if data is None or not isinstance(data, bytes | bytearray | memoryview):
        raise PlanInputError(_("没有收到文件内容，请重新上传。"))
    data = bytes(data)
    name = filename or _("文件")
    if not data.strip(b" \t\r\n\x00\x0b\x0c") or data in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        raise PlanInputError(_("“%(name)s”是空文件，没有任何内容。请检查后重新上传。", name=name))
    if len(data) > MAX_BYTES:
        raise PlanInputError(
            _("“%(name)s”超过 %(size)s MB，请删去图片等内容后再上传。", name=name, size=MAX_BYTES // 1024 // 1024)
        )
    ext = _ext(filename)
    head = data[:8]
    if head.startswith(b"%PDF") or (ext == "pdf" and b"%PDF" in data[:1024]):
        return _pdf(data, name)
    if head.startswith(b"PK\x03\x04"):
        return _zip(data, name)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise PlanInputError(
            _("“%(name)s”是旧版 Office 文件（.doc/.xls/.wps），暂不支持。%(hint)s", name=name, hint=_(SAVE_AS))
        )
    if head.startswith(b"{\\rtf"):
        raise PlanInputError(_("“%(name)s”是 RTF 文件，暂不支持。%(hint)s", name=name, hint=_(SAVE_AS)))
    for magic, kind in _MAGIC:
        if head.startswith(magic) and not (magic == b"BM" and ext in ("txt", "")):
            ocr = _("扫描件或照片需要先做文字识别（OCR）。") if kind == _IMAGE else ""
            raise PlanInputError(
                _(
                    "“%(name)s”是%(kind)s文件，不是工作要点文档。%(ocr)s%(hint)s",
                    name=name,
                    kind=_(kind),
                    ocr=ocr,
                    hint=_(HINT),
                )
            )
    if ext in ("doc", "wps", "xls", "xlsx", "ppt", "pptx", "et", "dps"):
        raise PlanInputError(_("不支持“%(name)s”这种文件类型。%(hint)s", name=name, hint=_(HINT)))
    text, encoding, flags = _decode_text(data, name)
    fmt = "txt"
    tables: list[Table] = []
    if ext in ("html", "htm", "xhtml") or _HTML_START.match(text[:500]):
        text, tables = html_to_text(text)
        fmt = "html"
    if not text.strip() and not tables:
        raise PlanInputError(_("“%(name)s”里没有文字内容。请检查后重新上传。", name=name))
    return DecodedText(text, encoding, fmt, flags, tables)


# ------------------------------------------------------------------------------------- plain text
_HTML_START = re.compile(r"\s*(<!doctype\s+html|<html|<\?xml[^>]*>\s*<html)", re.I)


@functools.lru_cache(maxsize=1)
def _common_chars() -> frozenset[str]:
    """The ~3,755 most used simplified (GB2312 level 1) and ~5,400 most used traditional (Big5 level 1) chars."""
    gb = b"".join(bytes((hi, lo)) for hi in range(0xB0, 0xD8) for lo in range(0xA1, 0xFF))
    big5 = b"".join(
        bytes((hi, lo)) for hi in range(0xA4, 0xC6) for lo in list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF))
    )
    return frozenset(gb.decode("gb2312", errors="ignore")) | frozenset(big5.decode("big5", errors="ignore"))


def _plausibility(text: str) -> float:
    """Share of characters that ordinary Chinese text is made of."""
    if not text:
        return 0.0
    common = _common_chars()
    good = 0
    for ch in text:
        if (
            ch in common
            or (ch.isascii() and (ch.isprintable() or ch in "\r\n\t"))
            or "\u3000" <= ch <= "\u303f"
            or "\uff00" <= ch <= "\uffef"
            or ch in "“”‘’…—·"
        ):
            good += 1
    return good / len(text)


def _decode_text(data: bytes, name: str) -> tuple[str, str, list[str]]:
    boms = (
        (b"\xff\xfe\x00\x00", "utf-32-le", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32-be", "utf-32"),
        (b"\xef\xbb\xbf", "utf-8", "utf-8"),
        (b"\xff\xfe", "utf-16-le", "utf-16"),
        (b"\xfe\xff", "utf-16-be", "utf-16"),
    )
    for bom, codec, label in boms:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec), label, []
            except UnicodeDecodeError:
                flag = _("文件按 %(encoding)s 读取时有无法识别的字节，已用 � 代替", encoding=label)
                return data[len(bom):].decode(codec, errors="replace"), label, [flag]
    sample = data[:65536]
    has_nul = b"\x00" in sample
    if not has_nul:
        try:
            text = data.decode("utf-8")
            _check_binary(text, name)
            return text, "utf-8", []
        except UnicodeDecodeError:
            pass
    best: tuple[float, str, str] | None = None
    codecs = [("gb18030", "gb18030"), ("big5", "big5"), ("utf-8", "utf-8")]
    if has_nul:  # UTF-16 without a byte order mark shows itself by the zero bytes of its ASCII and newlines
        codecs[:0] = [("utf-16-le", "utf-16"), ("utf-16-be", "utf-16")]
    for codec, label in codecs:
        try:
            text = sample.decode(codec) if codec != "utf-8" else sample.decode(codec, errors="strict")
        except UnicodeDecodeError as exc:
            # a sample may cut a multi-byte character at its end
            if exc.start < len(sample) - 4:
                continue
            text = sample[: exc.start].decode(codec, errors="ignore")
        score = _plausibility(text)
        # mainland bureaus write GB18030/GBK: Big5 must be clearly better, on enough text to judge
        margin = 0.15 if codec == "big5" else 0.02
        if best is None or (score > best[0] + margin and (codec != "big5" or len(sample) >= 40)):
            best = (score, codec, label)
    if best is not None and best[0] >= 0.8:
        _score, codec, label = best
        try:
            text = data.decode(codec)
            flags: list[str] = []
        except UnicodeDecodeError:
            text = data.decode(codec, errors="replace")
            flags = [_("文件按 %(encoding)s 读取时有无法识别的字节，已用 � 代替", encoding=label)]
        _check_binary(text, name)
        return text, label, flags
    text = data.decode("gb18030", errors="replace")
    _check_binary(text, name)
    return text, "gb18030", [_("无法确定文件编码，已按 GB18030 读取，部分文字可能是乱码，请核对")]


_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\ufffd]")


def _check_binary(text: str, name: str) -> None:
    sample = text[:20000]
    if not sample:
        return
    controls = len(_CONTROL.findall(sample))
    if controls / len(sample) > 0.05:
        raise PlanInputError(_("无法识别“%(name)s”的文件类型，它看起来不是文本文件。%(hint)s", name=name, hint=_(HINT)))


# -------------------------------------------------------------------------------------------- html
@dataclass
class _OpenTable:
    """A <table> being read: where its text starts among the parts, its cells so far (row, col, text, rowspan,
    colspan), which slots merged cells above already fill, and whether it holds another table (then it is
    layout, read as text)."""

    start: int
    specs: list[tuple[int, int, str, int, int]] = field(default_factory=list)
    taken: set[tuple[int, int]] = field(default_factory=set)
    row: int = 0
    col: int = 0
    cell: list[str] | None = None
    span: tuple[int, int] = (1, 1)
    nested: bool = False


def _span(attrs: list, name: str, limit: int) -> int:
    value = next((v for k, v in attrs if k == name), None) or "1"
    m = re.match(r"\s*(\d{1,5})", value)
    return max(1, min(int(m.group(1)) if m else 1, limit))


class _HTMLText(HTMLParser):
    """Text of a page, one block per line; a task table (a leaf <table> whose header names a task column and a
    unit or time column) is kept as a grid instead, a marker line where it stood."""

    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section", "article", "ul",
             "ol", "dd", "dt", "title", "header", "footer", "nav", "blockquote", "pre", "hr", "form"}
    SKIP = {"script", "style", "noscript", "template", "svg"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.open: list[_OpenTable] = []
        self.tables: list[Table] = []
        self.budget = CellBudget()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skip += 1
            return
        t = self.open[-1] if self.open else None
        if tag == "table":
            if t is not None:
                t.nested = True
            self.open.append(_OpenTable(len(self.parts)))
        elif t is not None and tag == "tr":
            self._close_cell(t)
            t.row, t.col = t.row + 1, 0
        elif t is not None and tag in ("td", "th"):
            self._close_cell(t)
            t.row = max(t.row, 1)
            t.cell = []
            t.span = (_span(attrs, "rowspan", MAX_ROWS), _span(attrs, "colspan", MAX_COLS))
        if tag in self.BLOCK:
            self._add("\n")
        elif tag in ("td", "th"):
            self.parts.append("  ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag in ("td", "th") and self.open:
            self._close_cell(self.open[-1])
        if tag in self.BLOCK:
            self._add("\n")
        if tag == "table" and self.open:
            self._close_table(self.open.pop())

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self._add(re.sub(r"[ \t\r\n]+", " ", data))

    def _add(self, text: str) -> None:
        self.parts.append(text)
        t = self.open[-1] if self.open else None
        if t is not None and t.cell is not None and not t.nested:
            t.cell.append(text)

    @staticmethod
    def _close_cell(t: _OpenTable) -> None:
        if t.cell is None:
            return
        text = "\n".join(x.strip() for x in "".join(t.cell).split("\n") if x.strip())
        t.cell = None
        col = t.col + 1
        while (t.row, col) in t.taken:
            col += 1
        rs, cs = t.span
        if len(t.specs) + len(t.taken) + rs * cs > MAX_CELLS:
            t.nested = True  # past the cell budget: read as text
        elif col <= MAX_COLS:
            t.specs.append((t.row, col, text, rs, cs))
            if rs > 1 or cs > 1:
                t.taken.update((r, c) for r in range(t.row, t.row + min(rs, MAX_ROWS)) for c in range(col, col + cs))
        t.col = col + cs - 1

    def _close_table(self, t: _OpenTable) -> None:
        self._close_cell(t)
        if t.nested or not t.specs:
            return
        table = task_table(t.specs, t.row, self.budget)
        if table is None:
            return
        del self.parts[t.start:]
        self.parts.append(f"\n{_MARK}{len(self.tables)}\n")
        self.tables.append(table)


_MARK = "\x00table "


def _drop_repeated_title(lines: list[str]) -> None:
    """The page's <title> (its first line) blanked when the page repeats it as its heading: else the two copies
    read as a running header and the plan loses its title."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and any(line.strip() == lines[first].strip() for line in lines[first + 1:first + 200]):
        lines[first] = ""


def html_to_text(html: str) -> tuple[str, list[Table]]:
    """The page's text, and its task tables (each `line` the index of the empty line left where it stood)."""
    parser = _HTMLText()
    with contextlib.suppress(Exception):  # malformed markup: keep what was read
        parser.feed(html)
        parser.close()
    lines = "".join(parser.parts).split("\n")
    _drop_repeated_title(lines)
    for i, line in enumerate(lines):
        if line.startswith(_MARK):
            table = parser.tables[int(line[len(_MARK):])]
            table.line = i
            lines[i] = ""
    if parser.budget.cut and parser.tables:
        parser.tables[0].flags.append(_("表格过大，超出部分按文字读取"))
    return "\n".join(lines), parser.tables


# -------------------------------------------------------------------------------------------- zip
def _zip(data: bytes, name: str) -> DecodedText:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_zip(archive)  # before python-docx inflates anything: a 1 MB .docx may claim 1 GB of XML
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise PlanInputError(_("“%(name)s”已损坏，无法打开。请重新导出后上传。", name=name)) from exc
    except ZipBomb:
        raise PlanInputError(_("“%(name)s”解压后过大（可能是压缩炸弹），没有导入。请用 Word 或 WPS 重新保存，"
                               "删去图片等与工作要点无关的内容后再上传。", name=name)) from None
    if "word/document.xml" in names:
        return _docx(data, name)
    if any(n.startswith("xl/") for n in names):
        raise PlanInputError(
            _(
                "“%(name)s”是 Excel 表格。任务分解表请在“导入任务分解表”处上传；工作要点%(hint)s",
                name=name,
                hint=_(HINT),
            )
        )
    if any(n.startswith("ppt/") for n in names):
        raise PlanInputError(_("“%(name)s”是演示文稿，不是工作要点文档。%(hint)s", name=name, hint=_(HINT)))
    raise PlanInputError(
        _("“%(name)s”是压缩包，不是工作要点文档。请解压后上传其中的 .docx、.pdf 或 .txt 文件。", name=name)
    )


# -------------------------------------------------------------------------------------------- docx
_CN_FORMATS = {"chineseCounting", "chineseCountingThousand", "chineseLegalSimplified", "ideographTraditional",
               "japaneseCounting", "taiwaneseCounting", "taiwaneseCountingThousand", "ideographLegalTraditional"}


class _Numbering:
    """Renders Word's automatic list numbers ("一、", "1.", "(1)") that python-docx leaves out of the text."""

    def __init__(self, document) -> None:
        from docx.oxml.ns import qn

        self.qn = qn
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}
        self.num_to_abstract: dict[str, str] = {}
        self.counters: dict[str, list[int]] = {}
        self.styles: dict[str, tuple[str, int]] = {}
        try:
            root = document.part.numbering_part.element
        except (NotImplementedError, KeyError, AttributeError):
            root = None
        if root is not None:
            for absn in root.findall(qn("w:abstractNum")):
                aid = absn.get(qn("w:abstractNumId"))
                lv: dict[int, tuple[str, str, int]] = {}
                for lvl in absn.findall(qn("w:lvl")):
                    ilvl = int(lvl.get(qn("w:ilvl"), "0"))
                    fmt = self._val(lvl, "w:numFmt") or "decimal"
                    text = self._val(lvl, "w:lvlText") or ""
                    start = int(self._val(lvl, "w:start") or "1")
                    lv[ilvl] = (fmt, text, start)
                self.levels[aid] = lv
            for num in root.findall(qn("w:num")):
                ref = num.find(qn("w:abstractNumId"))
                if ref is not None:
                    self.num_to_abstract[num.get(qn("w:numId"))] = ref.get(qn("w:val"))
        try:
            for style in document.styles.element.findall(qn("w:style")):
                ppr = style.find(qn("w:pPr"))
                numpr = ppr.find(qn("w:numPr")) if ppr is not None else None
                if numpr is not None:
                    nid = self._val(numpr, "w:numId")
                    ilvl = int(self._val(numpr, "w:ilvl") or "0")
                    if nid:
                        self.styles[style.get(qn("w:styleId"))] = (nid, ilvl)
        except AttributeError:
            pass

    def _val(self, el, tag: str) -> str | None:
        child = el.find(self.qn(tag))
        return child.get(self.qn("w:val")) if child is not None else None

    @staticmethod
    def _format(fmt: str, n: int) -> str:
        if fmt in _CN_FORMATS:
            return int_to_cn(n)
        if fmt.startswith("decimalEnclosedCircle") and 1 <= n <= 20:
            return chr(0x2460 + n - 1)
        if fmt == "decimalZero":
            return f"{n:02d}"
        if fmt in ("lowerLetter", "upperLetter"):
            s = chr(ord("a") + (n - 1) % 26)
            return s.upper() if fmt == "upperLetter" else s
        if fmt in ("bullet", "none"):
            return ""
        return str(n)

    def label(self, p_el) -> str:
        qn = self.qn
        ppr = p_el.find(qn("w:pPr"))
        nid, ilvl = None, 0
        if ppr is not None:
            numpr = ppr.find(qn("w:numPr"))
            if numpr is not None:
                nid = self._val(numpr, "w:numId")
                ilvl = int(self._val(numpr, "w:ilvl") or "0")
            if nid is None:
                sid = self._val(ppr, "w:pStyle")
                if sid in self.styles:
                    nid, ilvl = self.styles[sid]
        if not nid or nid == "0":
            return ""
        aid = self.num_to_abstract.get(nid)
        levels = self.levels.get(aid or "", {})
        if ilvl not in levels:
            return ""
        counters = self.counters.setdefault(aid or nid, [0] * 10)
        for k in range(ilvl + 1, 10):
            counters[k] = 0
        counters[ilvl] = counters[ilvl] + 1 if counters[ilvl] else levels[ilvl][2]
        fmt, text, _ = levels[ilvl]
        if fmt == "bullet":
            return ""

        def sub(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            if k not in levels:
                return ""
            return self._format(levels[k][0], counters[k] or levels[k][2])

        return re.sub(r"%(\d)", sub, text)


def _docx(data: bytes, name: str) -> DecodedText:
    try:
        import docx
        from docx.text.paragraph import Paragraph
    except ImportError as exc:  # pragma: no cover
        raise PlanInputError(_("服务器未安装 python-docx，暂时无法读取 .docx 文件，请上传 .txt 或 .pdf。")) from exc
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise PlanInputError(
            _("“%(name)s”无法作为 Word 文档打开，可能已损坏。请重新保存为 .docx 后上传。", name=name)
        ) from exc
    numbering = _Numbering(document)
    flags: list[str] = []
    lines: list[str] = []
    tables: list[Table] = []
    budget = CellBudget()
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(child, document)
            text = para.text
            if text.strip():
                lines.append(numbering.label(child) + text)
            else:
                numbering.label(child)
        elif tag == "tbl":
            table = word_table(child, budget)
            if table is None:
                lines.extend(word_table_text(child))
            else:
                table.line = len(lines)
                lines.append("")
                tables.append(table)
    if budget.cut:
        flags.append(_("表格过大，超出部分按文字读取"))
    text = "\n".join(lines)
    if not text.strip() and not tables:
        raise PlanInputError(_("“%(name)s”里没有文字内容（可能只有图片）。请上传含文字的文档。", name=name))
    return DecodedText(text, None, "docx", flags, tables)


# --------------------------------------------------------------------------------------------- pdf
_WIDE = "[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”]"
_CJK_SPACED = re.compile(f"(?<={_WIDE}) (?={_WIDE})")


def _pdf(data: bytes, name: str) -> DecodedText:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:  # pragma: no cover
        raise PlanInputError(_("服务器未安装 pypdf，暂时无法读取 PDF，请上传 .docx 或 .txt。")) from exc
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise PlanInputError(_("“%(name)s”是加密的 PDF，无法读取。请去掉密码后重新上传。", name=name))
        pages = []
        for page in reader.pages:
            try:
                pages.append(page.extract_text() or "")
            except Exception:
                pages.append("")
    except PlanInputError:
        raise
    except (PdfReadError, Exception) as exc:
        raise PlanInputError(_("“%(name)s”无法作为 PDF 打开，可能已损坏。请重新导出后上传。", name=name)) from exc
    flags: list[str] = []
    if sum(len(re.sub(r"\s", "", p)) for p in pages) < 10:
        raise PlanInputError(
            _(
                "“%(name)s”没有可提取的文字（可能是扫描件或图片 PDF）。"
                "请上传可复制文字的 PDF 或 Word 文件，或先做文字识别（OCR）。",
                name=name,
            )
        )
    empty = [str(i + 1) for i, p in enumerate(pages) if not p.strip()]
    if empty:
        flags.append(_("PDF 第%(pages)s页没有文字（可能是扫描页），其内容未导入", pages="、".join(empty)))
    text = "\n".join(pages)
    cjk_pairs = len(re.findall(r"[\u4e00-\u9fff][\u4e00-\u9fff]", text))
    spaced = len(_CJK_SPACED.findall(text))
    if spaced and spaced > 0.3 * (cjk_pairs + spaced):
        text = _CJK_SPACED.sub("", text)
    return DecodedText(text, None, "pdf", flags)
