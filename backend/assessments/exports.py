"""The 年考核 results as an .xlsx (the ranked table with each term and its basis, the adjustments with reasons) and
as a Word document in the official layout (red masthead with the bureau's name, the title, the ranked table,
仿宋 / 黑体, page numbers), using the shared official-document helpers of backend.core.documents."""

from backend.assessments.service import AssessmentView, ScoreLine, state_label
from backend.core import clock
from backend.core import documents as doc
from backend.core.workbook import new_workbook, to_bytes
from backend.i18n import _
from backend.reviews.exports import add_sheet


def _points(value: float) -> float:
    return round(value, 2)


def scale_note() -> str:
    """How a missing term is handled, said under the results (in the reader's language)."""
    return _("注：某项没有可考核的内容（无承办任务、无应报报告或无已发布的点评）的，不计零分，"
             "其余各项按权重折算到三项满分；三项都没有可考核内容的单位不参评。")


def rank_text(line: ScoreLine) -> str:
    return str(line.score.rank) if line.score.rank is not None else _("不参评")


def scale_text(line: ScoreLine) -> str:
    """"缺项折算 ×1.50" when a term had nothing to measure and the others were scaled up; else empty."""
    factor = scale_factor(line)
    return _("缺项折算 %(scale)s", scale=factor) if factor else ""


def scale_factor(line: ScoreLine) -> str:
    """×1.50 in the .docx's own column; empty when nothing was scaled."""
    b = line.basis
    return f"×{b.scale:.2f}" if b is not None and abs(b.scale - 1) > 1e-9 else ""


def basis_text(line: ScoreLine) -> tuple[str, str, str]:
    """What each term was computed from, in words: "办结 1/2", "按时 2/24", "均分 87.5（4 项）"."""
    b = line.basis
    if b is None:
        return "", "", ""
    completion = _("办结 %(done)s/%(n)s", done=b.done, n=b.assigned) if b.assigned else _("无承办任务")
    if b.extended:
        completion += _("（另 %(n)s 项经批准延期至下一年，不计入本年）", n=b.extended)
    timeliness = _("按时 %(ok)s/%(n)s", ok=b.on_time, n=b.due) if b.due else _("无应报报告")
    rating = _("均分 %(avg)s（%(n)s 项）", avg=f"{b.average:.2f}", n=b.ratings) if b.ratings else _("无已发布的点评")
    return completion, timeliness, rating


def _weights(view: AssessmentView) -> str:
    a = view.assessment
    return _("任务完成 %(c)s 分、报送及时 %(t)s 分、季度点评 %(r)s 分、加减分 ±%(b)s 分",
             c=f"{a.completion_weight:g}", t=f"{a.timeliness_weight:g}", r=f"{a.rating_weight:g}",
             b=f"{a.bonus_weight:g}")


def results_xlsx(view: AssessmentView, bureau_name: str) -> bytes:
    a = view.assessment
    book = new_workbook()
    header = [_("排名"), _("单位"), _("任务完成"), _("报送及时"), _("季度点评"), _("加减分"), _("总分"), _("单位自评"),
              _("完成依据"), _("及时依据"), _("点评依据"), _("缺项折算")]
    rows = [[line.score.rank if line.score.rank is not None else rank_text(line), line.unit_name,
             _points(line.score.completion), _points(line.score.timeliness), _points(line.score.rating),
             _points(line.score.adjustment), _points(line.score.total), line.self_total, *basis_text(line),
             scale_text(line)] for line in view.lines]
    caption = _("%(bureau)s %(year)s年度工作目标考核结果（%(state)s；%(weights)s）", bureau=bureau_name, year=a.year,
                state=state_label(a.state), weights=_weights(view))
    add_sheet(book, _("考核结果"), caption, header, rows)
    adjustments = [[line.unit_name, line.adjustment.points, line.adjustment.reason, line.author,
                    clock.localtime(line.adjustment.created_at, timezone=view.timezone)]
                   for line in view.adjustments]
    add_sheet(book, _("加减分"), _("加减分明细（每个单位合计按 ±%(b)s 分封顶）", b=f"{a.bonus_weight:g}"),
              [_("单位"), _("分值"), _("理由"), _("记录人"), _("时间")], adjustments)
    return to_bytes(book)


def results_docx(view: AssessmentView, bureau_name: str) -> bytes:
    a = view.assessment
    document = doc.official_document()
    doc.masthead(document, bureau_name)
    doc.title(document, _("%(year)s年度工作目标考核结果", year=a.year))
    doc.body(document, _("根据本局年度工作目标考核细则（%(weights)s），现将各单位%(year)s年度考核结果%(what)s如下。",
                         weights=_weights(view), year=a.year,
                         what=_("公布") if a.state == "final" else _("公示")))
    if a.state != "final" and a.appeal_until:
        doc.body(document, _("如有异议，请于 %(until)s 前提出申诉。", until=a.appeal_until))
    doc.heading(document, _("一、考核结果"))
    # The columns read as the total is made: (完成 + 及时 + 点评) × 缺项折算 + 加减分 = 总分.
    doc.table(document, [_("排名"), _("单位"), _("任务完成"), _("报送及时"), _("季度点评"), _("缺项折算"), _("加减分"),
                         _("总分")],
              [[rank_text(line), line.unit_name, f"{line.score.completion:.2f}", f"{line.score.timeliness:.2f}",
                f"{line.score.rating:.2f}", scale_factor(line), f"{line.score.adjustment:+.2f}",
                f"{line.score.total:.2f}"]
               for line in view.lines], size=12, widths=[1.2, 3.4, 1.9, 1.9, 1.9, 1.8, 1.7, 1.6])
    if any(scale_text(line) or line.score.rank is None for line in view.lines):
        doc.body(document, scale_note())
    if view.adjustments:
        doc.heading(document, _("二、加减分情况"))
        doc.table(document, [_("单位"), _("分值"), _("理由")],
                  [[line.unit_name, f"{line.adjustment.points:+g}", line.adjustment.reason]
                   for line in view.adjustments], size=12, widths=[4, 2, 9.4])
    local = clock.local_now(view.timezone, a.finalised_at or a.published_at)
    doc.signature(document, bureau_name, _("%(y)s年%(m)s月%(d)s日", y=local.year, m=local.month, d=local.day))
    doc.page_numbers(document)
    return doc.to_bytes(document)
