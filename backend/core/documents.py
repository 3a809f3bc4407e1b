"""Official-document layout shared by every Word (and PDF) export: the A4 page of GB/T 9704 (公文格式), the red
masthead (红头) with the bureau's name, the red rule under the document number, 仿宋 body text and 黑体 headings
(Word falls back to the reader's fonts where these are missing), page numbers in the footer, plain grid tables.
"""

import io
from collections.abc import Sequence

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

RED = RGBColor(0xC0, 0x00, 0x00)
AMBER = RGBColor(0xB8, 0x86, 0x0B)
BODY_FONT = "仿宋"
HEADING_FONT = "黑体"
TITLE_FONT = "小标宋"  # 方正小标宋 where installed; Word substitutes otherwise
BODY_SIZE = 16  # 三号
# What WeasyPrint uses for the same layout: Debian's Noto CJK stands in for 仿宋 / 黑体.
PDF_BODY_FONTS = "'FangSong', '仿宋', 'Noto Serif CJK SC'"
PDF_HEADING_FONTS = "'SimHei', '黑体', 'Noto Sans CJK SC'"


def run(paragraph, text: str, *, size: float = BODY_SIZE, font: str = BODY_FONT, bold: bool = False, color=None):
    """A run in `font`, also for East Asian text (w:eastAsia), which is what Chinese characters are set in."""
    added = paragraph.add_run(text)
    added.font.size, added.font.bold, added.font.name = Pt(size), bold, font
    added._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    if color is not None:
        added.font.color.rgb = color
    return added


def red_rule(paragraph) -> None:
    """The red line under the document number."""
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "18"), ("space", "1"), ("color", "C00000")):
        bottom.set(qn(f"w:{key}"), value)
    border.append(bottom)
    paragraph._p.get_or_add_pPr().append(border)


def official_document() -> DocumentType:
    """An empty A4 document with the official margins."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    return document


def masthead_size(heading: str) -> float:
    """26 pt (一号), smaller for a long issuer name, so that the masthead stays on one line of the A4 text width."""
    return min(26.0, round(430 / max(len(heading), 1), 1))


def masthead(document: DocumentType, heading: str, number: str | None = None) -> None:
    """红头: the issuer's name large and red, then the document number and the red rule."""
    top = document.add_paragraph()
    top.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run(top, heading, size=masthead_size(heading), font=HEADING_FONT, bold=True, color=RED)
    line = document.add_paragraph()
    line.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run(line, number or "", size=BODY_SIZE)
    red_rule(line)


def title(document: DocumentType, text: str, *, size: float = 22, color=None) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run(paragraph, text, size=size, font=HEADING_FONT, bold=True, color=color)


def heading(document: DocumentType, text: str) -> None:
    """A 一、二、 level heading: 黑体 三号."""
    run(document.add_paragraph(), text, font=HEADING_FONT)


def body(document: DocumentType, text: str, *, indent: bool = True) -> None:
    """Body paragraphs in 仿宋 三号, first line indented two characters; one paragraph per line of `text`."""
    for line in paragraphs(text):
        paragraph = document.add_paragraph()
        if indent:
            paragraph.paragraph_format.first_line_indent = Pt(BODY_SIZE * 2)
        run(paragraph, line)


def paragraphs(text: str) -> list[str]:
    """The paragraphs of typed text: one per non-empty line, each later set with its own first-line indent."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def addressee(text: str) -> tuple[str, str]:
    """Splits off a 主送 line ("各学校、局属各单位："): the first line when it is short, ends with a colon and holds no
    sentence. 公文 sets it flush left, above the indented body. Returns (addressee or "", the rest)."""
    lines = paragraphs(text)
    if lines and lines[0].endswith(("：", ":")) and len(lines[0]) <= 60 and "。" not in lines[0]:
        return lines[0], "\n".join(lines[1:])
    return "", "\n".join(lines)


def table(document: DocumentType, header: Sequence[str] | None, rows: Sequence[Sequence[object]], *,
          size: float = 12, widths: Sequence[float] | None = None, label_column: bool = False) -> None:
    """A grid table: 黑体 header (if any) and, with `label_column`, 黑体 first column; 仿宋 cells."""
    lines = [header, *rows] if header else list(rows)
    grid = document.add_table(rows=len(lines), cols=len(lines[0]))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    for index, cells in enumerate(lines):
        for position, (cell, value) in enumerate(zip(grid.rows[index].cells, cells, strict=True)):
            if widths:
                cell.width = Cm(widths[position])
            strong = (header and index == 0) or (label_column and position == 0)
            run(cell.paragraphs[0], "" if value is None else str(value), size=size,
                font=HEADING_FONT if strong else BODY_FONT)


def signature(document: DocumentType, issuer: str, date_text: str) -> None:
    """The issuer and the date, right-aligned, under the text."""
    name = document.add_paragraph()
    name.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    name.paragraph_format.space_before = Pt(36)
    run(name, issuer)
    when = document.add_paragraph()
    when.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run(when, date_text)


def _field(paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES): Word fills in the number when it lays out the page."""
    for kind, text in (("begin", None), (None, instruction), ("separate", None), (None, "1"), ("end", None)):
        added = paragraph.add_run()
        added.font.size, added.font.name = Pt(14), "宋体"
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            added._r.append(char)
        elif text == instruction:
            code = OxmlElement("w:instrText")
            code.set(qn("xml:space"), "preserve")
            code.text = f" {instruction} "
            added._r.append(code)
        else:
            added.text = text


def page_numbers(document: DocumentType) -> None:
    """— 1 — in the footer of every page, centred, as official documents number their pages."""
    footer = document.sections[0].footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run(footer, "— ", size=14, font="宋体")
    _field(footer, "PAGE")
    run(footer, " —", size=14, font="宋体")


def to_bytes(document: DocumentType) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
