"""The reminder benchmark's database (bench/reminders.py): bureau 0 built through the services, the whole seed
(kept while its parameters and the schema match, described in the database's comment), and the reset that takes
every run back to the seeded state."""

# ruff: noqa: S608 — the SQL is composed from this file's constants and integers; every value is a bound parameter.
from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from bench.harness.database import owner_query, recreate_database
from bench.reminders_measure import summary_of, timed_sweep
from bench.reminders_plan import (
    ROBOT_UNITS,
    TIMEZONE,
    YEAR,
    Plan,
    bureau_code,
    bureau_name,
    local_at,
    previous_workday,
    robot_url,
    seed_bulk,
)
from bench.seed_tasks import PASSWORD

# --- bureau 0, through the services ----------------------------------------------------------------------


def plan_rows(plan: Plan, database_url: str, b: int) -> tuple[list[dict], list[dict]]:
    """The plan of one bureau, read from the same SQL the bulk path inserts from."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        tasks = conn.execute(f"SELECT * FROM ({plan.tasks(b, b + 1)}) AS p ORDER BY p.i", plan.params).fetchall()
        people = conn.execute(f"SELECT * FROM ({plan.people_sql(b, b + 1)}) AS p ORDER BY p.ord",
                              plan.params).fetchall()
    return tasks, people


async def build_service_bureau(plan: Plan, database_url: str, batch: int, timer: Counter) -> uuid.UUID:
    """Bureau 0 through the services, from the same plan as the bulk bureaus."""
    from sqlmodel import col, select

    from backend.accounts.models import User
    from backend.accounts.service import create_user
    from backend.core.roles import Role
    from backend.db import unit_of_work
    from backend.delivery import service as delivery
    from backend.notifications import service as notifications
    from backend.reports import service as reports
    from backend.tasks import lifecycle
    from backend.tasks import service as tasks
    from backend.tasks.periods import current_period
    from backend.tenancy import service as tenancy
    from backend.tenancy.acting import actor_for
    from backend.tenancy.models import UnitKind

    code = bureau_code(0)
    task_plan, people = plan_rows(plan, database_url, 0)
    t0 = time.perf_counter()
    async with unit_of_work() as session:
        tenant = await tenancy.create_tenant(session, None, name=bureau_name(0), code=code, timezone=TIMEZONE)
        tenant_id = tenant.id
        admin_user = None
        for person in people:
            if person["ix"] is not None:
                continue
            user = await create_user(session, username=f"{code}-{person['key']}", display_name=code + person["display"],
                                     password=PASSWORD, email=f"{code}-{person['key']}@bench.edu.cn")
            if admin_user is None:
                admin_user = user
                await tenancy.add_member(session, None, tenant_id=tenant_id, user=user, role=Role.admin)
                admin = await actor_for(session, user, tenant_id)
            else:
                await tenancy.add_member(session, admin, tenant_id=tenant_id, user=user, role=Role(person["role"]))
        unit_ids: list[uuid.UUID] = []
        for name, kind, parent in plan.units:
            unit = await tenancy.create_unit(session, admin, name=name, kind=UnitKind(kind),
                                             parent_id=unit_ids[parent] if parent is not None else None)
            unit_ids.append(unit.id)
        for person in people:
            if person["ix"] is not None:
                user = await create_user(session, username=f"{code}-{person['key']}", display_name=person["display"],
                                         password=PASSWORD, email=f"{code}-{person['key']}@bench.edu.cn")
                await tenancy.add_member(session, admin, tenant_id=tenant_id, user=user, role=Role(person["role"]),
                                         unit_id=unit_ids[person["ix"]])
        for ix in range(-1, min(len(unit_ids), ROBOT_UNITS)):
            await delivery.add_channel(session, admin, kind="wecom", url=robot_url(plan.args.seed, 0, ix),
                                       unit_id=unit_ids[ix] if ix >= 0 else None)
    async with unit_of_work(tenant_id) as session:
        for person in people:
            if person["preference"] is None:
                continue
            user = (await session.exec(select(User).where(User.username == f"{code}-{person['key']}"))).one()
            actor = await actor_for(session, user, tenant_id)
            sms = person["preference"] == "sms"
            await notifications.update_preferences(session, actor, email=True, sms=sms,
                                                   phone=person["phone"] if sms else "",
                                                   daily_digest=person["preference"] != "no_digest", weekly_digest=True)
    timer["bureau 0: bureau, units, people, channels"] += time.perf_counter() - t0

    async def actors(session) -> tuple[dict[int, object], object]:
        users = {u.username: u for u in (await session.exec(
            select(User).where(col(User.username).startswith(code + "-")))).all()}
        staff = {ix: await actor_for(session, users[f"{code}-u{ix:03d}-staff"], tenant_id)
                 for ix in range(len(unit_ids))}
        return staff, await actor_for(session, users[f"{code}-supervisor"], tenant_id)

    t0 = time.perf_counter()
    task_ids: dict[int, uuid.UUID] = {}
    for start in range(0, len(task_plan), batch):
        rows = task_plan[start:start + batch]
        async with unit_of_work(tenant_id) as session:
            _staff, supervisor = await actors(session)
            created = await tasks.create_tasks(session, supervisor, YEAR, [tasks.NewTask(
                title=r["title"], description=r["description"], deadline=r["deadline"],
                lead_unit_ids=[] if r["later"] else [unit_ids[r["lead_ix"]]],
                co_unit_ids=[] if r["later"] or r["co_ix"] is None else [unit_ids[r["co_ix"]]],
            ) for r in rows])
            for r, task in zip(rows, created, strict=True):
                task_ids[r["i"]] = task.id
                if r["later"]:  # 交办 after creation
                    await tasks.assign_units(session, supervisor, task, lead_unit_ids=[unit_ids[r["lead_ix"]]],
                                             co_unit_ids=[] if r["co_ix"] is None else [unit_ids[r["co_ix"]]])
    timer["bureau 0: tasks (create_tasks, assign_units)"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    real_period = current_period("monthly", datetime.now(ZoneInfo(TIMEZONE)).date())
    for start in range(0, len(task_plan), batch):
        rows = task_plan[start:start + batch]
        async with unit_of_work(tenant_id) as session:
            staff, supervisor = await actors(session)
            for r in rows:
                task_id = task_ids[r["i"]]
                if r["lead_state"] != "assigned":
                    await lifecycle.acknowledge(session, staff[r["lead_ix"]], task_id, version=None)
                if r["co_ix"] is not None and r["co_ack"]:
                    await lifecycle.acknowledge(session, staff[r["co_ix"]], task_id, version=None)
                filings = [(plan.previous, r["previous_state"], max(r["percent"] - 10, 0))]
                if plan.current <= real_period:  # a period can only be filed once it has begun (real clock)
                    filings.append((plan.current, r["current_state"], r["percent"]))
                for period, state, percent in filings:
                    if state is None:
                        continue
                    report = await reports.save_report(session, staff[r["lead_ix"]], task_id, period=period,
                                                       progress=f"本期按计划推进，已完成阶段性工作{percent}%。",
                                                       percent=percent, version=0)
                    if state == "draft":
                        continue
                    report = await reports.submit_report(session, staff[r["lead_ix"]], report.id,
                                                         version=report.version)
                    if state == "accepted":
                        await reports.review(session, supervisor, report.id, accept=True, comment="",
                                             version=report.version)
    timer["bureau 0: acknowledge, reports, reviews"] += time.perf_counter() - t0
    return tenant_id


# --- the database ----------------------------------------------------------------------------------------


def reuse_key(args) -> dict:
    return {"bureaus": args.bureaus, "tasks_per_bureau": args.tasks_per_bureau,
            "units_per_bureau": args.units_per_bureau, "seed": args.seed, "at": local_at(args).isoformat()}


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from backend.core.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def read_meta(database_url: str) -> dict | None:
    """The seed's description, kept as the database's comment; None when there is no usable database."""
    import psycopg

    try:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT shobj_description(oid, 'pg_database'), "
                               "(SELECT version_num FROM alembic_version) FROM pg_database "
                               "WHERE datname = current_database()").fetchone()
    except psycopg.Error:
        return None
    if not row or not row[0]:
        return None
    try:
        meta = json.loads(row[0])
    except ValueError:
        return None
    meta["revision_now"] = row[1]
    return meta


def write_meta(database_url: str, meta: dict) -> None:
    import psycopg
    from psycopg import sql

    name = database_url.rpartition("/")[2]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(json.dumps(meta, ensure_ascii=False))))


def write_setting(database_url: str, name: str, value: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(
            sql.Identifier(database_url.rpartition("/")[2]), sql.Identifier(name), sql.Literal(value)))


def vacuum(database_url: str, tables: list[str] | None = None) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) " + ", ".join(tables) if tables else "VACUUM (ANALYZE)")


TABLES = ("tenants", "units", "users", "memberships", "notification_preferences", "channel_configs", "tasks",
          "task_assignments", "progress_reports", "report_reviews", "supervision_notices", "notifications", "outbox")


def row_counts(database_url: str) -> dict[str, int]:
    return {t: owner_query(database_url, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}  # noqa: S608


def database_size(database_url: str) -> str:
    return owner_query(database_url, "SELECT pg_size_pretty(pg_database_size(current_database()))")[0][0]


def seed(args, plan: Plan) -> dict:
    from backend.core.migrate import migrate

    timer: Counter = Counter()
    t0 = time.perf_counter()
    recreate_database(args.database_url)
    migrate()
    timer["migrate"] += time.perf_counter() - t0
    print(f"  database rebuilt and migrated in {timer['migrate']:.1f} s", flush=True)

    service_tenant = asyncio.run(_service_bureau(plan, args.database_url, timer))
    owner_query(args.database_url, "UPDATE outbox SET state = 'sent', attempts = 1, "
                "sent_at = created_at + interval '1 minute' WHERE tenant_id = %s AND state = 'pending' RETURNING 1",
                (service_tenant,))  # as the sender would have done (no SMTP here), like the bulk path's history
    print(f"  bureau 0 ({bureau_code(0)}) built through the services in "
          f"{sum(v for k, v in timer.items() if k.startswith('bureau 0')):.1f} s", flush=True)
    if args.bureaus > 1:
        seed_bulk(plan, args.database_url, 1, args.bureaus, args.chunk, timer)
    t0 = time.perf_counter()
    vacuum(args.database_url)
    timer["vacuum analyze"] += time.perf_counter() - t0

    previous = previous_workday(local_at(args))
    print(f"  catch-up sweep as of {previous.isoformat()} (the working day before --at) …", flush=True)
    catch_up = asyncio.run(timed_sweep(previous, label="catch-up"))
    print(f"  catch-up sweep: {catch_up['seconds']:.1f} s, decisions {catch_up['decisions']}", flush=True)
    t0 = time.perf_counter()
    vacuum(args.database_url)
    timer["vacuum analyze"] += time.perf_counter() - t0
    marker = owner_query(args.database_url, "SELECT clock_timestamp()")[0][0]
    meta = {"key": reuse_key(args), "revision": head_revision(), "marker": marker.isoformat(),
            "service_tenant": str(service_tenant), "seeded_at": datetime.now().astimezone().isoformat(),
            "seconds": {k: round(v, 1) for k, v in timer.items()}, "catch_up": summary_of(catch_up),
            "rows": row_counts(args.database_url), "size": database_size(args.database_url)}
    write_meta(args.database_url, meta)
    return meta


async def _service_bureau(plan: Plan, database_url: str, timer: Counter) -> uuid.UUID:
    from backend.db import dispose_engine

    try:
        return await build_service_bureau(plan, database_url, 100, timer)
    finally:
        await dispose_engine()


def reset(database_url: str, marker: str) -> dict[str, int]:
    """Removes what earlier runs wrote (everything after the seed's marker), so this run starts from the seed."""
    import psycopg

    deleted = {}
    with psycopg.connect(database_url) as conn:
        for table, column in (("notifications", "created_at"), ("outbox", "created_at"),
                              ("supervision_notices", "issued_at")):
            deleted[table] = conn.execute(f"DELETE FROM {table} WHERE {column} > %s", (marker,)).rowcount  # noqa: S608
    if any(deleted.values()):
        vacuum(database_url, ["notifications", "outbox", "supervision_notices"])
    return deleted
