"""What a bulletin shows, built once from its figures snapshot for the page, the .docx, the .pdf and the .xlsx, so
the four always carry the same numbers under the same headings."""

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from backend.bulletins.models import Bulletin
from backend.bulletins.service import issue_label
from backend.core.charts import LIGHT_COLOURS, Segment, bar_chart, line_chart, stacked_bar
from backend.i18n import _

CHART_UNITS = 20  # the bar chart shows the units with the lowest on-time rate; the table shows them all


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:g}%"


@dataclass
class Table:
    caption: str
    header: list[str]
    rows: list[list[Any]]
    sheet: str
    numeric_from: int = 1  # columns from this one on are numbers (aligned right on the page)
    note: str = ""


@dataclass
class BulletinView:
    bulletin: Bulletin
    bureau_name: str
    issue: str
    figures: dict
    units: Table
    trend: Table
    lights: Table
    exemplary: Table
    overdue: Table
    summary: list[str]
    charts: dict[str, Markup] = field(default_factory=dict)
    timezone: str | None = None  # the bureau's: the date a document is signed is its local date

    @property
    def tables(self) -> list[Table]:
        return [self.units, self.lights, self.trend, self.exemplary, self.overdue]


def build_view(bulletin: Bulletin, bureau_name: str, timezone: str | None = None) -> BulletinView:
    f = bulletin.figures
    totals, bureau = f["totals"], f["bureau"]
    lights = bureau["lights"]
    units = Table(
        _("表2 各单位进展报送与办理情况（%(y)s年%(m)s月）", y=bulletin.year, m=bulletin.month),
        [_("单位"), _("应报"), _("已报"), _("按时"), _("逾期报送"), _("未报"), _("按时报送率"), _("本月办结"),
         _("红灯")],
        [[u["name"], u["due"], u["filed"], u["on_time"], u["late"], u["missing"], percent(u["on_time_rate"]),
          u["completed"], u["reds"]] for u in f["units"]]
        + [[_("合计"), totals["due"], totals["filed"], totals["on_time"], totals["late"], totals["missing"],
            percent(totals["on_time_rate"]), totals["completed"], totals["reds"]]],
        sheet=_("各单位"),
        note=_("应报：本月截止报送的进展报告（牵头、责任单位）；红灯：起草时本单位承办的红灯任务中尚未办结的。"),
    )
    trend = Table(
        _("表3 %(y)s年各月按时报送率与累计办结任务", y=bulletin.year),
        [_("月份"), _("应报"), _("按时"), _("按时报送率"), _("累计办结任务")],
        [[_("%(m)s月", m=t["month"]), t["due"], t["on_time"], percent(t["on_time_rate"]), t["done_cumulative"]]
         for t in f["trend"]],
        sheet=_("全年趋势"),
    )
    light_table = Table(
        _("表1 推进中任务（已交办、未办结）红黄绿灯（%(y)s年工作要点）", y=f["plan_year"]),
        [_("灯色"), _("任务数")],
        [[_("绿灯"), lights["green"]], [_("黄灯"), lights["yellow"]], [_("红灯"), lights["red"]]],
        sheet=_("红黄绿灯"),
    )
    exemplary = Table(
        _("表4 本月典型报告（督查人员评定）"),
        [_("任务编号"), _("任务"), _("单位"), _("摘要")],
        [[e["number"], e["title"], e["unit"], e["excerpt"]] for e in f["exemplary"]],
        sheet=_("典型报告"), numeric_from=99,
    )
    overdue_note = ""
    if f["overdue_total"] > len(f["overdue"]):
        overdue_note = _("共 %(n)s 项，此处列出超期最久的 %(k)s 项。", n=f["overdue_total"], k=len(f["overdue"]))
    overdue = Table(
        _("表5 超期任务（已过时限、仍未办结，截至 %(d)s）", d=f["today"]),
        [_("任务编号"), _("任务"), _("承办单位"), _("办理时限"), _("超期天数")],
        [[o["number"], o["title"], o["unit"], o["deadline"], o["days"]] for o in f["overdue"]],
        sheet=_("超期任务"), numeric_from=4, note=overdue_note,
    )
    summary = [
        _("本月应报进展报告 %(due)s 份，已报 %(filed)s 份（按时 %(on_time)s 份，逾期 %(late)s 份），"
          "未报 %(missing)s 份，按时报送率 %(rate)s。", due=totals["due"], filed=totals["filed"],
          on_time=totals["on_time"], late=totals["late"], missing=totals["missing"],
          rate=percent(totals["on_time_rate"])),
        _("%(y)s年工作要点共 %(tasks)s 项任务（不含已取消），已办结 %(done)s 项，完成率 %(rate)s；"
          "推进中（已交办、未办结）%(open)s 项，其中绿灯 %(g)s 项、黄灯 %(yl)s 项、红灯 %(r)s 项；"
          "待交办（尚未交给单位）%(unassigned)s 项。", y=f["plan_year"], tasks=bureau["tasks"],
          done=bureau["done"], rate=percent(bureau["completion_rate"]), g=lights["green"], yl=lights["yellow"],
          r=lights["red"], open=bureau.get("in_progress", lights["green"] + lights["yellow"] + lights["red"]),
          unassigned=bureau.get("unassigned", 0)),
        _("本月办结 %(done)s 项；超期未办结 %(overdue)s 项。", done=totals["completed"], overdue=f["overdue_total"]),
    ]
    view = BulletinView(bulletin=bulletin, bureau_name=bureau_name, issue=issue_label(bulletin), figures=f,
                        units=units, trend=trend, lights=light_table, exemplary=exemplary, overdue=overdue,
                        summary=summary, timezone=timezone)
    lowest = sorted((u for u in f["units"] if u["due"]), key=lambda u: (u["on_time_rate"], u["name"]))[:CHART_UNITS]
    view.charts = {
        "units": bar_chart([(u["name"], u["on_time_rate"]) for u in lowest], suffix="%", max_value=100,
                           label=_("各单位按时报送率（按时/应报，最低的 %(n)s 个单位）", n=len(lowest))),
        "lights": stacked_bar([Segment(_("绿灯"), lights["green"], LIGHT_COLOURS["green"]),
                               Segment(_("黄灯"), lights["yellow"], LIGHT_COLOURS["yellow"]),
                               Segment(_("红灯"), lights["red"], LIGHT_COLOURS["red"])],
                              label=_("推进中任务红黄绿灯：绿灯 %(g)s，黄灯 %(y)s，红灯 %(r)s", g=lights["green"],
                                      y=lights["yellow"], r=lights["red"])),
        "rate": line_chart([str(t["month"]) for t in f["trend"]],
                           [(_("按时报送率"), [t["on_time_rate"] for t in f["trend"]])], suffix="%", max_value=100,
                           label=_("%(y)s年各月按时报送率（%%）", y=bulletin.year), x_unit=_("横轴：月")),
        "done": line_chart([str(t["month"]) for t in f["trend"]],
                           [(_("累计办结任务"), [t["done_cumulative"] for t in f["trend"]])],
                           label=_("%(y)s年累计办结任务数", y=bulletin.year), x_unit=_("横轴：月")),
    }
    return view
