"""The reminder benchmark's checks (bench/reminders.py): is the bulk path equivalent to the services (the seeded
rows column by column, and what the sweep decides for each, rolled back), and EXPLAIN of the heaviest statement."""

# ruff: noqa: S608 — the SQL is composed from this file's constants and integers; every value is a bound parameter.
from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from datetime import datetime

from bench.harness.database import owner_query
from bench.reminders_measure import Instrument
from bench.reminders_plan import TIMEZONE, bureau_code, local_at

# --- is the bulk path equivalent? --------------------------------------------------------------------------

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
NUMBER_RE = re.compile(r"督-\d{4}-\d+")
PROFILE_TABLES = {
    "units": "tenant_id = %(t)s", "memberships": "tenant_id = %(t)s",
    "users": "id IN (SELECT user_id FROM memberships WHERE tenant_id = %(t)s)",
    "notification_preferences": "tenant_id = %(t)s", "channel_configs": "tenant_id = %(t)s",
    "tasks": "tenant_id = %(t)s", "task_assignments": "tenant_id = %(t)s", "progress_reports": "tenant_id = %(t)s",
    "report_reviews": "tenant_id = %(t)s", "notifications": "tenant_id = %(t)s AND kind = 'task_assigned'",
    "outbox": "tenant_id = %(t)s AND starts_with(dedupe_key, 'assign:')",
}
CATEGORICAL = {"kind", "role", "state", "priority", "report_frequency", "period", "decision", "channel", "light",
               "year", "timezone"}
# Differences between bureau 0 and the bulk bureaus that are expected, and why.
EXPECTED = {
    ("tasks", "light"): "the bulk path approximates lights (only the Monday overview reads them)",
    ("tasks", "light_reason"): "the bulk path approximates lights",
    ("progress_reports", "period"): "the services refuse a period that has not begun on the real clock",
    ("progress_reports", "state"): "drafts of the current period: see period",
    ("progress_reports", "submitted_at"): "drafts of the current period: see period",
    ("progress_reports", "submitted_by"): "drafts of the current period: see period",
}


def profile(database_url: str, tenant_id: str) -> dict[tuple[str, str], tuple]:
    """Per column of the seeded tables: (has NULLs, has values, the values if there are at most 8 short ones)."""
    import psycopg

    out: dict[tuple[str, str], tuple] = {}
    with psycopg.connect(database_url) as conn:
        for table, where in PROFILE_TABLES.items():
            columns = conn.execute("SELECT column_name, data_type, character_maximum_length FROM "
                                   "information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
                                   (table,)).fetchall()
            for name, data_type, _length in columns:
                enum_like = data_type == "boolean" or name in CATEGORICAL
                nulls, values, distinct, sample = conn.execute(
                    f'SELECT count(*) FILTER (WHERE "{name}" IS NULL), count("{name}"), '  # noqa: S608
                    f'count(DISTINCT "{name}"), (array_agg(DISTINCT "{name}"::text))[1:9] FROM {table} WHERE {where}',
                    {"t": tenant_id}).fetchone()
                shown = tuple(sorted(sample or ())) if enum_like and distinct <= 8 else None
                out[(table, name)] = (nulls > 0, values > 0, shown)
    return out


def compare_profiles(service: dict, bulk: dict) -> list[dict]:
    differences = []
    for key in sorted(set(service) | set(bulk)):
        a, b = service.get(key), bulk.get(key)
        if a is None or b is None:
            differences.append({"column": ".".join(key), "service": a, "bulk": b, "expected": None})
            continue
        same = a[0] == b[0] and a[1] == b[1] and (a[2] is None or b[2] is None or a[2] == b[2])
        if not same:
            differences.append({"column": ".".join(key), "service": list(a), "bulk": list(b),
                                "expected": EXPECTED.get(key)})
    return differences


def shape(text_: str) -> str:
    """The form of a key, title or link with its ids, dates, task numbers and working-day offsets taken out."""
    text_ = NUMBER_RE.sub("<no>", DATE_RE.sub("<date>", UUID_RE.sub("<id>", text_ or "")))
    return re.sub(r"/T-\d+", "/T-k", re.sub(r"\d{4}-(\d{2}|Q\d)", "<period>", text_))


async def dry_sweep(tenant_id: uuid.UUID, at: datetime) -> dict:
    """What sweep_bureau decides for one bureau at `at`, in a transaction that is rolled back. The bureau's 督办单
    are deleted first (inside that transaction), so that every overdue assignment escalates: on one day only a
    few cross a level, too few to be sure each kind shows in a single bureau."""
    from sqlalchemy import text
    from sqlmodel.ext.asyncio.session import AsyncSession

    from backend.db import get_engine, set_context
    from backend.reminders.sweep import sweep_bureau

    async with AsyncSession(get_engine(), expire_on_commit=False) as session:
        try:
            await set_context(session, tenant_id)
            tasks = (await session.exec(text("SELECT count(*) FROM tasks"))).one()[0]
            await session.exec(text("DELETE FROM supervision_notices"))
            result = await sweep_bureau(session, tenant_id, TIMEZONE, at)
            notes = (await session.exec(text(
                "SELECT n.kind, n.dedupe_key, n.title, n.link, m.role FROM notifications n "
                "JOIN memberships m ON m.id = n.membership_id WHERE n.created_at = now()"))).all()
            outbox = (await session.exec(text(
                "SELECT channel, dedupe_key FROM outbox WHERE created_at = now()"))).all()
        finally:
            await session.rollback()
    kinds = Counter((kind, shape(key).rsplit(":", 1)[0], title.split("】")[0] + "】" if "】" in title else shape(title),
                     shape(link), role) for kind, key, title, link, role in notes)
    channels = Counter((channel, re.sub(r"/robot/<id>$", "/robot/<config>", shape(key))) for channel, key in outbox)
    return {"tasks": tasks, "result": vars(result), "notifications": kinds, "outbox": channels}


async def equivalence(meta: dict, args) -> dict:
    """Bureau 0 (services) against the bulk bureaus: the seeded rows of bureau 1 column by column, and what
    sweep_bureau decides at --at for bureau 0 and for bureaus 1–3 (rolled back). A rare decision (a red 督办单 is
    about one task in a thousand on a given day) can be missing from one bureau by chance, hence three."""
    from backend.db import dispose_engine

    database_url = args.database_url
    service_id = uuid.UUID(meta["service_tenant"])
    bulk_rows = owner_query(database_url, "SELECT id, code FROM tenants WHERE code = ANY(%s) ORDER BY code",
                            ([bureau_code(b) for b in range(1, 4)],))
    at = local_at(args)
    report: dict = {"service_bureau": bureau_code(0), "bulk_bureaus": [code for _id, code in bulk_rows]}
    if not bulk_rows:
        print("  (only one bureau: nothing to compare bureau 0 with)")
        return report
    differences = compare_profiles(profile(database_url, str(service_id)), profile(database_url, str(bulk_rows[0][0])))
    try:
        service = await dry_sweep(service_id, at)
        bulks = [await dry_sweep(tenant_id, at) for tenant_id, _code in bulk_rows]
    finally:
        await dispose_engine()
    bulk = {"tasks": sum(b["tasks"] for b in bulks),
            "result": dict(sum((Counter(b["result"]) for b in bulks), Counter())),
            "notifications": sum((b["notifications"] for b in bulks), Counter()),
            "outbox": sum((b["outbox"] for b in bulks), Counter())}
    unexpected = [d for d in differences if not d["expected"]]
    codes = ", ".join(report["bulk_bureaus"])
    print(f"\nSanity check: bureau 0 (services) against the bulk SQL. Seeded rows of {bulk_rows[0][1]}, column by "
          f"column: {len(differences)} differences, {len(unexpected)} unexpected")
    for d in differences:
        print(f"  {'expected  ' if d['expected'] else 'UNEXPECTED'} {d['column']}: services {d['service']}, "
              f"bulk {d['bulk']}" + (f" — {d['expected']}" if d["expected"] else ""))
    print(f"  sweep_bureau at {at.isoformat()} (rolled back; 督办单 cleared first, so every overdue assignment "
          "escalates), decisions per 1,000 tasks:")
    print(f"    {'':<14}{'services':>10}{'bulk':>10}   (bulk: {codes})")
    per = {}
    for field in service["result"]:
        a = 1000 * service["result"][field] / max(service["tasks"], 1)
        b = 1000 * bulk["result"].get(field, 0) / max(bulk["tasks"], 1)
        per[field] = {"services": round(a, 1), "bulk": round(b, 1)}
        print(f"    {field:<14}{a:>10.1f}{b:>10.1f}")
    print("    notifications by (kind, key, title, link, role), per 1,000 tasks:")
    for key in sorted(set(service["notifications"]) | set(bulk["notifications"])):
        a = 1000 * service["notifications"][key] / max(service["tasks"], 1)
        b = 1000 * bulk["notifications"][key] / max(bulk["tasks"], 1)
        print(f"      {a:8.1f}{b:8.1f}  {' '.join(str(part) for part in key)}")
    print("    outbox rows by (channel, key), per 1,000 tasks:")
    for key in sorted(set(service["outbox"]) | set(bulk["outbox"])):
        a = 1000 * service["outbox"][key] / max(service["tasks"], 1)
        b = 1000 * bulk["outbox"][key] / max(bulk["tasks"], 1)
        print(f"      {a:8.1f}{b:8.1f}  {' '.join(key)}")
    only_service = sorted(set(service["notifications"]) - set(bulk["notifications"])) + sorted(
        set(service["outbox"]) - set(bulk["outbox"]))
    only_bulk = sorted(set(bulk["notifications"]) - set(service["notifications"])) + sorted(
        set(bulk["outbox"]) - set(service["outbox"]))
    equivalent = not unexpected and not only_service and not only_bulk
    if not equivalent and min(service["tasks"], bulk["tasks"]) < 500:
        print("  (few tasks per bureau: a rare kind of decision can be missing from one side by chance)")
    print(f"  {'EQUIVALENT' if equivalent else 'NOT EQUIVALENT'}: "
          f"{'the same columns filled alike' if not unexpected else 'columns differ'}, "
          f"{'the same kinds of decisions, notifications and outbox rows' if not (only_service or only_bulk) else ''}"
          + (f"only from the services: {only_service} " if only_service else "")
          + (f"only from the bulk path: {only_bulk}" if only_bulk else ""))
    report.update({"equivalent": equivalent, "column_differences": differences, "decisions_per_1000_tasks": per,
                   "notifications_per_1000_tasks": {
                       " ".join(map(str, k)): [round(1000 * service["notifications"][k] / max(service["tasks"], 1), 1),
                                               round(1000 * bulk["notifications"][k] / max(bulk["tasks"], 1), 1)]
                       for k in sorted(set(service["notifications"]) | set(bulk["notifications"]))},
                   "outbox_per_1000_tasks": {
                       " ".join(k): [round(1000 * service["outbox"][k] / max(service["tasks"], 1), 1),
                                     round(1000 * bulk["outbox"][k] / max(bulk["tasks"], 1), 1)]
                       for k in sorted(set(service["outbox"]) | set(bulk["outbox"]))},
                   "only_services": [list(map(str, r)) for r in only_service],
                   "only_bulk": [list(map(str, r)) for r in only_bulk]})
    return report


# --- EXPLAIN the heaviest statement ------------------------------------------------------------------------


async def explain(instrument: Instrument, database_url: str, at: datetime, since: str) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of the heaviest statement for one bureau (the median one for that statement), as
    it ran in run 1: that bureau's rows of run 1 are deleted (committed), its sweep runs again in a transaction
    that is rolled back with the statement EXPLAINed on its way, and then runs for real, which puts back what run 1
    had written. track_io_timing is on for this database (ALTER DATABASE, this database only)."""
    import psycopg
    from sqlalchemy import event
    from sqlmodel.ext.asyncio.session import AsyncSession

    from backend.db import dispose_engine, get_engine, set_context, unit_of_work
    from backend.reminders.sweep import sweep_bureau

    heaviest = max(instrument.statement_seconds, key=lambda k: sum(instrument.statement_seconds[k]))
    by_bureau = instrument.statement_by_bureau[heaviest]
    ordered = sorted(by_bureau, key=by_bureau.get)
    tenant_id = ordered[len(ordered) // 2]
    target = instrument.statement_text[heaviest]
    found: dict = {}
    with psycopg.connect(database_url) as conn:
        for table, column in (("notifications", "created_at"), ("outbox", "created_at"),
                              ("supervision_notices", "issued_at")):
            conn.execute(f"DELETE FROM {table} WHERE tenant_id = %s AND {column} >= %s", (tenant_id, since))

    def hook(conn, cursor, statement, parameters, context, executemany):
        if statement == target and "plan" not in found:
            started = time.perf_counter()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            found["plan"] = [row[0] for row in cursor.fetchall()]
            found["seconds"] = time.perf_counter() - started

    engine = get_engine()
    event.listen(engine.sync_engine, "before_cursor_execute", hook)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            try:
                await set_context(session, tenant_id)
                await sweep_bureau(session, tenant_id, TIMEZONE, at)
            finally:
                await session.rollback()
        event.remove(engine.sync_engine, "before_cursor_execute", hook)
        async with unit_of_work(tenant_id) as session:  # back to the state run 1 left
            await sweep_bureau(session, tenant_id, TIMEZONE, at)
    finally:
        if event.contains(engine.sync_engine, "before_cursor_execute", hook):
            event.remove(engine.sync_engine, "before_cursor_execute", hook)
        await dispose_engine()
    code = owner_query(database_url, "SELECT code FROM tenants WHERE id = %s", (tenant_id,))[0][0]
    return {"statement": heaviest, "bureau": code, "measured_ms_in_run": round(1000 * by_bureau[tenant_id], 2),
            "sql": " ".join(target.split()), "plan": found.get("plan", []),
            "explain_seconds": round(found.get("seconds", 0.0), 3)}
