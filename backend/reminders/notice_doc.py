"""The 督办单 as a Word document in the layout of an official notice: a red masthead with the bureau's name, the
notice number under it, a rule, and the facts in a table. Rendered from the notice row whenever it is opened."""

from datetime import datetime

from backend.core import documents as doc
from backend.core.calendar import weekends_only_note
from backend.i18n import _
from backend.reminders.models import NoticeLevel, SupervisionNotice
from backend.tasks.models import Task


def notice_number(notice: SupervisionNotice) -> str:
    """督〔2026〕006号: the model's one format (SupervisionNotice.number), for the file name."""
    return notice.number


def render_notice(notice: SupervisionNotice, task: Task, unit_name: str, bureau_name: str, issued: datetime) -> bytes:
    document = doc.official_document()
    doc.masthead(document, _("%(bureau)s督查督办通知单", bureau=bureau_name), notice.number)
    red = notice.level == NoticeLevel.red
    doc.title(document, _("红色督办单") if red else _("黄色督办单"), color=doc.RED if red else doc.AMBER)
    doc.run(document.add_paragraph(), _("%(unit)s：", unit=unit_name))
    lead = _("你单位承办的下列任务已超过办理时限 %(days)s 个工作日，现予%(level)s督办。请接到本通知后立即办理，"
             "并在 3 个工作日内通过“落实”平台报送办理进展及佐证材料。",
             days=notice.workdays_overdue, level=_("红色") if red else _("黄色"))
    doc.body(document, lead)
    rows = [
        (_("任务编号"), task.number),
        (_("督办事项"), task.title),
        (_("承办单位"), unit_name),
        (_("办理时限"), notice.deadline.isoformat()),
        (_("超期情况"), _("已超期 %(days)s 个工作日", days=notice.workdays_overdue)
         + (_("（%(note)s）", note=note) if (note := weekends_only_note(notice.deadline, issued.date())) else "")),
        (_("督办等级"), _("红色督办（报局领导）") if red else _("黄色督办（报单位负责人）")),
    ]
    doc.table(document, None, rows, size=14, widths=(3.5, 12), label_column=True)
    doc.signature(document, bureau_name, _("%(y)s年%(m)s月%(d)s日", y=issued.year, m=issued.month, d=issued.day))
    return doc.to_bytes(document)
