"""The bulletin's numbers against counts made by hand from scenario.py's story."""

from datetime import date

from backend.bulletins import service as bulletins
from backend.bulletins.figures import ReportCounts, month_bounds, unit_report_counts
from backend.db import unit_of_work
from tests.bulletins.scenario import build


async def test_march_bulletin_numbers(bureau, clock):
    s = await build(bureau, clock)
    y = s.year
    async with unit_of_work(s.tenant_id) as session:
        bulletin, new = await bulletins.draft_for_month(session, s.tenant_id, y, 3, today=date(y, 4, 1))
    assert new
    f = bulletin.figures
    units = {u["name"]: u for u in f["units"]}
    # 办公室 owes T1 (lead) and T2 (responsible) for March: 2 due; T1 filed 03-26 (late), T2 filed 03-05 (on time).
    office = units["办公室"]
    assert (office["due"], office["filed"], office["on_time"], office["late"], office["missing"]) == (2, 2, 1, 1, 0)
    # 实验小学 owes T2 only (T1: cooperating; T4: done 02-20, before 03-25): filed 03-30, late, then returned
    # (a returned report still counts as filed).
    school = units["实验小学"]
    assert (school["due"], school["filed"], school["on_time"], school["late"], school["missing"]) == (1, 1, 0, 1, 0)
    # 第二中学 owes T3 and never files: 1 due, 1 missing; T3 (deadline 03-10) is red on April 1st: 1 red.
    second = units["第二中学"]
    assert (second["due"], second["filed"], second["missing"], second["reds"]) == (1, 0, 1, 1)
    assert office["reds"] == school["reds"] == 0
    # Nobody finished anything in March (T4 was done in February).
    assert office["completed"] == school["completed"] == second["completed"] == 0
    # Totals: due 2 + 1 + 1 = 4; filed 2 + 1 + 0 = 3; on time 1 + 0 + 0 = 1; late 1 + 1 = 2; missing 0 + 0 + 1 = 1.
    totals = f["totals"]
    assert (totals["due"], totals["filed"], totals["on_time"], totals["late"], totals["missing"]) == (4, 3, 1, 2, 1)
    assert totals["on_time_rate"] == 25.0  # 1 / 4
    # Plan year Y: T1–T5, T5 cancelled → 4 tasks; T4 done → 1 / 4 = 25%.
    assert (f["bureau"]["tasks"], f["bureau"]["done"], f["bureau"]["completion_rate"]) == (4, 1, 25.0)
    # Open tasks' lights on April 1st: T1 green (on track), T2 yellow (latest report returned), T3 red (past its
    # deadline); T4 is done, T5 cancelled: neither counts.
    assert f["bureau"]["lights"] == {"green": 1, "yellow": 1, "red": 1}
    # Trend: January 5 due (T1 office, T2 school, T2 office, T3 second, T4 school), on time 2 (T1 01-20, T2 school
    # 01-24) → 40%; February 4 due (T4 done 02-20 < 02-25), on time 2 (T1 02-25, T2 school 02-10) → 50%;
    # March 4 due, on time 1 → 25%. Tasks done by the end of each month: 0, 1 (T4), 1.
    assert [(t["month"], t["due"], t["on_time"], t["on_time_rate"], t["done_cumulative"]) for t in f["trend"]] == [
        (1, 5, 2, 40.0, 0), (2, 4, 2, 50.0, 1), (3, 4, 1, 25.0, 1)]
    # Exemplary in March: T1 office's March report only (February's belongs to February).
    assert [(e["number"], e["unit"]) for e in f["exemplary"]] == [(s.tasks["T1"].number, "办公室")]
    assert f["exemplary"][0]["excerpt"] == f"T1任务：{y}-03进展。"
    # Overdue on April 1st: T3 at 第二中学, deadline 03-10: 21 days left in March + 1 = 22 days.
    assert f["overdue_total"] == 1
    assert [(o["number"], o["unit"], o["days"]) for o in f["overdue"]] == [(s.tasks["T3"].number, "第二中学", 22)]


async def test_february_counts_and_completed(bureau, clock):
    s = await build(bureau, clock)
    y = s.year
    first, last = month_bounds(y, 2)
    async with unit_of_work(s.tenant_id) as session:
        counts = await unit_report_counts(session, s.tenant_id, first, last)
        bulletin, _new = await bulletins.draft_for_month(session, s.tenant_id, y, 2, today=date(y, 3, 1))
    # 办公室: T1 filed 02-25 (on time), T2 never filed → due 2, filed 1, on time 1, missing 1.
    assert counts[s.office.id] == ReportCounts(due=2, filed=1, on_time=1, late=0, missing=1)
    # 实验小学: T2 filed 02-10; T4 was done 02-20, before its 02-25 due date, so it owes nothing for February.
    assert counts[s.school.id] == ReportCounts(due=1, filed=1, on_time=1, late=0, missing=0)
    assert counts[s.second.id] == ReportCounts(due=1, filed=0, on_time=0, late=0, missing=1)
    # The first quarter in one window: office 2 + 2 + 2 = 6 due, filed 2 + 1 + 2 = 5, late 1 (T2 01-28) + 1 (T1 03-26).
    quarter = await _counts(s, date(y, 1, 1), date(y, 3, 31))
    assert quarter[s.office.id] == ReportCounts(due=6, filed=5, on_time=3, late=2, missing=1)
    # 实验小学: T2 ×3 + T4 in January = 4 due; all filed; late: T4 01-26 and T2 03-30.
    assert quarter[s.school.id] == ReportCounts(due=4, filed=4, on_time=2, late=2, missing=0)
    units = {u["name"]: u for u in bulletin.figures["units"]}
    assert units["实验小学"]["completed"] == 1  # T4, done 02-20
    assert units["办公室"]["completed"] == 0


async def _counts(s, first, last):
    async with unit_of_work(s.tenant_id) as session:
        return await unit_report_counts(session, s.tenant_id, first, last)
