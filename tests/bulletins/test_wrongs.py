"""The 通报 PDF set as a 公文 (issue 13, point 9): only the first line of the foreword was indented, the 主送 line was
indented too, and a table's caption could sit alone at the foot of a page."""

import io
import re

import pdfplumber

from backend.bulletins import exports
from backend.bulletins.views import build_view
from tests.bulletins.test_exports import published_march

# Body text is 14pt: an indent of two characters is 28pt.
FOREWORD = ("各学校、局属各单位：\n"
            "现将三月份全市教育系统重点工作落实情况通报如下，请各单位对照问题清单逐项整改，按时报送整改情况，"
            "确保各项任务按期完成。\n"
            "第二段：请各单位高度重视。")


def _lines(pdf_bytes: bytes) -> list[list[dict]]:
    with pdfplumber.open(io.BytesIO(pdf_bytes)) as pdf:
        return [page.extract_text_lines() for page in pdf.pages]


async def _view(bureau, clock):
    _s, bulletin = await published_march(bureau, clock)
    return build_view(bulletin, bureau.tenant.name)


async def test_every_paragraph_is_indented_and_the_addressee_is_flush_left(bureau, clock):
    view = await _view(bureau, clock)
    view.bulletin.foreword = FOREWORD
    lines = [line for page in _lines(exports.render_pdf(view)) for line in page]
    start = {line["text"][:4]: line["x0"] for line in lines}
    wrapped = next(i for i, line in enumerate(lines) if line["text"].startswith("现将三月"))
    margin = lines[wrapped + 1]["x0"]  # the paragraph's second line runs from the margin
    assert abs(start["各学校、"] - margin) < 1  # 主送: flush left
    assert abs(start["现将三月"] - (margin + 28)) < 1 and abs(start["第二段："] - (margin + 28)) < 1  # 2 characters


async def test_a_table_caption_is_never_alone_at_the_foot_of_a_page(bureau, clock):
    """Forewords of several lengths move each caption to the foot of a page."""
    view = await _view(bureau, clock)
    alone = []
    for filler in (10, 13, 23, 26):  # lengths that put 表1, 表5, 表4 and 表2 at a page end before the fix
        view.bulletin.foreword = "\n".join(f"第{n}段：本月各单位按计划推进各项工作。" for n in range(filler))
        for page in _lines(exports.render_pdf(view)):
            text = [line["text"] for line in page if not re.fullmatch(r"— \d+ —", line["text"])]  # the page number
            if text and re.match(r"^表\d ", text[-1]):
                alone.append((filler, text[-1]))
    assert alone == []
