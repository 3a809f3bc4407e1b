"""Benchmark of the reminder sweep: 1,000 bureaus × 1,000 open tasks, the time to decide and enqueue a day's reminders.

    .venv/bin/python bench/reminders.py                                   # 1,000 × 1,000 (seeds once, ~10 min)
    .venv/bin/python bench/reminders.py --bureaus 20 --tasks-per-bureau 200   # a quick try (~1 min)

What is timed is `backend.reminders.jobs.sweep_all(at)`, the job's own body: for every active bureau one transaction
that runs `sweep_bureau` (deadline T-7/T-3/T-1 reminders, report-day reminders, overdue escalation with its 督办单,
the daily digests) and writes the notifications and outbox rows (e-mail, SMS, group robots) it decides. Then the
same sweep again, which must decide nothing (every decision has a dedupe key) — its time is the cost of a no-op tick.

The database (`luoshi_bench_reminders`, migrated by `luoshi migrate`) is built once and reused while the parameters
(--bureaus, --tasks-per-bureau, --units-per-bureau, --seed, --at) and the schema's revision stay the same; --reseed
rebuilds it. What a run writes is removed at the start of the next run (rows created after the seed's marker), so
every run measures the same day from the same state.

The data. Bureau 0 (`rem0000`) is built through the services, as the tests' fixtures do: tenancy.create_tenant /
create_unit / add_member, accounts.create_user, notifications.update_preferences, delivery.add_channel,
tasks.create_tasks and assign_units, lifecycle.acknowledge, reports.save_report / submit_report / review. The other
bureaus are written by a BULK path: INSERT … SELECT over generate_series, run as the owner, that writes the rows
those services write (every NOT NULL column filled as they fill it; ids are md5-derived, so the same seed gives
the same rows). Seeding 1,000,000 tasks through the services would take hours. Both paths take their plan from the
same SQL (task_plan below), so bureau 0 and the bulk bureaus have the same shape. Before measuring, the script
compares them: the seeded rows column by column, and what `sweep_bureau` decides for bureau 0 and for bureau 1 (in
transactions that are rolled back).

Left out of the bulk path because the sweep never reads them: audit_events, light_changes, task_checklist_items,
task_targets, and the notifications that report reviews send. Task lights are approximated (red when overdue,
yellow within 4 days, else green): only the Monday overview reads them.

History. After seeding, the sweep runs once for the working day before --at (timed and reported as the catch-up
sweep: the first sweep over a database that never had one, with every overdue assignment escalated at once). So at
--at the escalations already issued stay issued, and the sweep decides one day's work, as on any working day.

--at defaults to Tuesday 2026-12-22 08:00 Beijing time: after the 07:30 digest time, outside quiet hours, and the
day the report-day rule's T-3 fires for the 25th (the default report day), so every rule has work. On 2026-12-15 the
report-day rule would decide nothing.

Prints the totals, per-bureau mean / p50 / p95 / max, the decisions by rule (what sweep_all returns), the
notifications and outbox rows written by kind and channel, rows/s, the time per rule (in SQL statements and the
rest) and per statement, the peak RSS, the CPU seconds of this process and of its PostgreSQL backend (on a shared
machine these depend far less on the neighbours than the wall time), and the no-op second run. If the sweep takes
over 30 s (or with --explain) the heaviest statement is EXPLAINed (ANALYZE, BUFFERS, with track_io_timing on for
this database) for the median bureau: that bureau's rows of run 1 are deleted, its sweep runs in a transaction that
is rolled back with the statement EXPLAINed on the way, then runs again for real. Results go to
bench/results/reminders.json.
"""

# ruff: noqa: S608 — the SQL is composed from this file's constants and integers; every value is a bound parameter.
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import resource
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

from bench.seed_tasks import (  # noqa: E402
    DEFAULT_REDIS_URL,
    MEASURES,
    OFFICES,
    PASSWORD,
    TOPICS,
    VERBS,
    _environment,
)

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/luoshi_bench_reminders"
DEFAULT_AT = "2026-12-22T08:00:00+08:00"
TIMEZONE = "Asia/Shanghai"
YEAR = 2026
REPORT_DAY = 25  # the default (no bureau_settings row), as every bureau here has
TARGET_SECONDS = 30.0
EPOCH = datetime(2026, 1, 4, 9, 0, tzinfo=ZoneInfo(TIMEZONE))  # bureaus, units and people "created" then

# The plan's shares (of tasks, or of people). Deadlines: OVERDUE are 1–60 days past --at; MONTH_END fall on a
# month end from --at's month to a year later (June and December ends weighted ×4, as plans say 6月底 / 年底); the
# rest on any day of the year after --at.
SHARES = {
    "overdue": 0.06, "month_end": 0.40, "cooperating_unit": 0.20, "acknowledged": 0.60,
    "previous_period_accepted": 0.55, "previous_period_filed": 0.70, "current_period_submitted": 0.30,
    "current_period_draft": 0.08, "assigned_later": 0.05, "cooperating_acknowledged": 0.50,
    "unit_heads_with_sms": 0.20, "staff_without_daily_digest": 0.10,
}
ROBOT_UNITS = 3  # group robots: one for the bureau and one for each of its first three units (offices)
OFFICE_SHARE = 0.6  # of a bureau's units; the rest are schools and kindergartens

# --- the plan, in SQL ------------------------------------------------------------------------------------


def rnd(n: str, seed: int, k: int) -> str:
    """A uniform number in [0, 1) for row `n`, stream `k`: deterministic, whatever the order rows are made in."""
    return f"((hashint8extended(({n})::bigint, {seed * 64 + k}) & 9007199254740991)::float8 / 9007199254740992.0)"


class Ids:
    """Ids of the bulk rows, derived from the seed, so the rows of one table can name the rows of another."""

    def __init__(self, seed: int) -> None:
        self.s = seed

    def tenant(self, b: str) -> str:
        return f"md5('{self.s}:tenant:' || ({b}))::uuid"

    def unit(self, b: str, ix: str) -> str:
        return f"md5('{self.s}:unit:' || ({b}) || ':' || ({ix}))::uuid"

    def user(self, b: str, key: str) -> str:
        return f"md5('{self.s}:user:' || ({b}) || ':' || ({key}))::uuid"

    def member(self, b: str, key: str) -> str:
        return f"md5('{self.s}:member:' || ({b}) || ':' || ({key}))::uuid"

    def staff(self, b: str, ix: str, what: str = "user") -> str:
        key = f"'u' || lpad(({ix})::text, 3, '0') || '-staff'"
        return self.user(b, key) if what == "user" else self.member(b, key)

    def task(self, n: str) -> str:
        return f"md5('{self.s}:task:' || ({n}))::uuid"

    def assignment(self, n: str, kind: str) -> str:
        return f"md5('{self.s}:assign:' || ({n}) || ':' || {kind})::uuid"

    def report(self, n: str, period: str) -> str:
        return f"md5('{self.s}:report:' || ({n}) || ':' || ({period}))::uuid"


def code_sql(b: str) -> str:
    return f"('rem' || lpad(({b})::text, 4, '0'))"


def bureau_code(b: int) -> str:
    return f"rem{b:04d}"


def bureau_name(b: int) -> str:
    return f"基准提醒{b:04d}区教育局"


def unit_plan(count: int) -> list[tuple[str, str, int | None]]:
    """(name, kind, parent index): offices first (the first ones lead the most tasks), then schools."""
    offices = max(1, min(len(OFFICES), round(count * OFFICE_SHARE), count))
    units: list[tuple[str, str, int | None]] = [(OFFICES[i], "office", None) for i in range(offices)]
    parent = 2 if offices > 2 else 0  # 基础教育科 looks after the schools
    kinds = [("实验小学", "school"), ("中学", "school"), ("幼儿园", "kindergarten")]
    for j in range(count - offices):
        suffix, kind = kinds[j % 3]
        units.append((f"第{j // 3 + 1}{suffix}", kind, parent))
    return units


def people_plan(units: list[tuple[str, str, int | None]]) -> list[tuple[str, str, int | None, str]]:
    """(key, role, unit index, display name): the login is `<code>-<key>`; bureau roles' names get the code."""
    people: list[tuple[str, str, int | None, str]] = [("admin", "admin", None, "管理员"),
                                                      ("supervisor", "supervisor", None, "督查员"),
                                                      ("leader", "leader", None, "局领导")]
    for ix, (name, _kind, _parent) in enumerate(units):
        people.append((f"u{ix:03d}-head", "unit_head", ix, f"{name}负责人"[:50]))
        people.append((f"u{ix:03d}-staff", "unit_staff", ix, f"{name}经办人"[:50]))
    return people


def month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def periods(anchor: date) -> tuple[str, str]:
    """The monthly period before --at's and --at's own (2026-11, 2026-12)."""
    previous = anchor.replace(day=1) - timedelta(days=1)
    return f"{previous.year}-{previous.month:02d}", f"{anchor.year}-{anchor.month:02d}"


def report_due(period: str) -> date:
    from backend.tasks.periods import due_on

    return due_on(period, REPORT_DAY)


class Plan:
    """The parameters every plan query binds, and the queries."""

    def __init__(self, args) -> None:
        self.args = args
        self.ids = Ids(args.seed)
        self.anchor = local_at(args).date()
        self.units = unit_plan(args.units_per_bureau)
        self.people = people_plan(self.units)
        self.previous, self.current = periods(self.anchor)
        ends = [month_end(self.anchor.year + (self.anchor.month - 1 + m) // 12, (self.anchor.month - 1 + m) % 12 + 1)
                for m in range(13)]
        weighted = [d for d in ends for _ in range(4 if d.month in (6, 12) else 1)]
        self.params = {
            "verbs": VERBS, "topics": TOPICS, "measures": MEASURES, "month_ends": weighted, "anchor": self.anchor,
            "unit_names": [u[0] for u in self.units], "unit_kinds": [u[1] for u in self.units],
            "unit_parents": [u[2] for u in self.units], "pkeys": [p[0] for p in self.people],
            "proles": [p[1] for p in self.people], "pixs": [p[2] for p in self.people],
            "pdisplays": [p[3] for p in self.people], "epoch": EPOCH, "today": datetime.now(ZoneInfo(TIMEZONE)).date(),
            "previous": self.previous, "current": self.current, "previous_due": report_due(self.previous),
            "current_due": report_due(self.current),
        }

    def tasks(self, lo: int, hi: int) -> str:
        """One row per task of bureaus lo … hi-1 (n = b × T + i - 1): what it is, when it is due, who leads and
        co-operates, whether the units acknowledged it and which reports were filed."""
        t, u, s, sh = self.args.tasks_per_bureau, self.args.units_per_bureau, self.args.seed, SHARES

        def x(k: int) -> str:
            return rnd("g.n", s, k)

        return f"""
        SELECT q.*,
               CASE WHEN q.previous_state IS NOT NULL OR q.current_state = 'submitted' THEN 'in_progress'
                    WHEN q.ack THEN 'acknowledged' ELSE 'assigned' END AS lead_state,
               CASE WHEN q.previous_state IS NOT NULL
                    THEN CAST(%(previous_due)s AS date) - (1 + floor(q.r_at * 9))::int + TIME '10:00' END
                 AT TIME ZONE '{TIMEZONE}' AS previous_at,
               CASE WHEN q.current_state IS NOT NULL
                    THEN CAST(%(anchor)s AS date) - (1 + floor(q.r_at * 7))::int + TIME '15:00' END
                 AT TIME ZONE '{TIMEZONE}' AS current_at
        FROM (
            SELECT g.n, g.n / {t} AS b, mod(g.n, {t}) + 1 AS i,
                   v.verb || v.topic || '工作（第' || (mod(g.n, {t}) + 1) || '项）' AS title,
                   '围绕' || v.topic || '，一是' || v.m1 || '；二是' || v.m2 || '。' AS description,
                   CASE WHEN {x(3)} < {sh['overdue']}
                        THEN CAST(%(anchor)s AS date) - (1 + floor({x(4)} * 60))::int
                        WHEN {x(3)} < {sh['overdue'] + sh['month_end']}
                        THEN (CAST(%(month_ends)s AS date[]))[1 + floor({x(4)} * cardinality(CAST(%(month_ends)s
                                                                                             AS date[])))::int]
                        ELSE CAST(%(anchor)s AS date) + floor({x(4)} * 365)::int END AS deadline,
                   floor({u} * {x(5)} * {x(5)})::int AS lead_ix,
                   CASE WHEN {u} > 1 AND {x(6)} < {sh['cooperating_unit']}
                        THEN mod(floor({u} * {x(5)} * {x(5)})::int + 1 + floor({x(7)} * ({u} - 1))::int, {u}) END
                     AS co_ix,
                   {x(8)} < {sh['acknowledged']} AS ack,
                   CASE WHEN {x(9)} < {sh['previous_period_accepted']} THEN 'accepted'
                        WHEN {x(9)} < {sh['previous_period_filed']} THEN 'submitted' END AS previous_state,
                   CASE WHEN {x(10)} < {sh['current_period_submitted']} THEN 'submitted'
                        WHEN {x(10)} < {sh['current_period_submitted'] + sh['current_period_draft']} THEN 'draft'
                     END AS current_state,
                   10 * (1 + floor({x(11)} * 8))::int AS percent,
                   %(epoch)s + interval '1 day' + {x(12)} * (CAST(%(previous_due)s AS date) - 6
                                                             - CAST(%(epoch)s AS date)) * interval '1 day'
                     AS created_at,
                   {x(13)} < {sh['assigned_later']} AS later,
                   {x(14)} < {sh['cooperating_acknowledged']} AS co_ack,
                   {x(15)} AS r_at
            FROM generate_series({lo * t}, {hi * t - 1}) AS g(n)
            CROSS JOIN LATERAL (SELECT
                (CAST(%(verbs)s AS text[]))[1 + floor({x(1)} * cardinality(CAST(%(verbs)s AS text[])))::int] AS verb,
                (CAST(%(topics)s AS text[]))[1 + floor({x(2)} * cardinality(CAST(%(topics)s AS text[])))::int]
                  AS topic,
                (CAST(%(measures)s AS text[]))[1 + floor({x(16)} * 3)::int] AS m1,
                (CAST(%(measures)s AS text[]))[4 + floor({x(17)} * 3)::int] AS m2) AS v
        ) q"""

    def people_sql(self, lo: int, hi: int) -> str:
        """Every person of bureaus lo … hi-1 with their notification preferences (None: no row, the defaults)."""
        s, sh = self.args.seed, SHARES
        x = rnd("b.b * 4096 + k.ord", s, 30)
        phone = f"'139' || lpad(mod(abs(hashint8extended((b.b * 4096 + k.ord)::bigint, {s * 64 + 31})), 100000000)" \
                "::text, 8, '0')"
        return f"""
        SELECT b.b, {code_sql('b.b')} AS code, k.key, k.role, k.ix, k.display, k.ord,
               CASE WHEN k.role = 'unit_head' AND {x} < {sh['unit_heads_with_sms']} THEN 'sms'
                    WHEN k.role = 'unit_staff' AND {x} < {sh['staff_without_daily_digest']} THEN 'no_digest' END
                 AS preference,
               {phone} AS phone
        FROM generate_series({lo}, {hi - 1}) AS b(b)
        CROSS JOIN unnest(CAST(%(pkeys)s AS text[]), CAST(%(proles)s AS text[]), CAST(%(pixs)s AS int[]),
                          CAST(%(pdisplays)s AS text[])) WITH ORDINALITY AS k(key, role, ix, display, ord)"""


def robot_url(seed: int, b: int, ix: int) -> str:
    return "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + hashlib.md5(  # noqa: S324 — not security
        f"{seed}:robot-key:{b}:{ix}".encode()).hexdigest()


# --- the bulk path -------------------------------------------------------------------------------------------


def bulk_statements(plan: Plan, lo: int, hi: int) -> list[tuple[str, str]]:
    """(what, SQL) that write bureaus lo … hi-1 as the services would; run in this order, as the owner."""
    ids, s, u = plan.ids, plan.args.seed, plan.args.units_per_bureau
    tasks = plan.tasks(lo, hi)
    people = plan.people_sql(lo, hi)
    chunk = f"ARRAY(SELECT {ids.tenant('b')} FROM generate_series({lo}, {hi - 1}) AS b)"
    light = ("CASE WHEN p.deadline < %(today)s THEN 'red' WHEN p.deadline <= CAST(%(today)s AS date) + 4 THEN 'yellow' "
             "ELSE 'green' END")
    reason = ("CASE WHEN p.deadline < %(today)s THEN '已超过时限' WHEN p.deadline <= CAST(%(today)s AS date) + 4 "
              "THEN '距时限不足 3 个工作日' ELSE '正常推进' END")
    filed_current = "coalesce(p.current_state = 'submitted', false)"
    return [
        ("tenants", f"""
            INSERT INTO tenants (id, name, code, timezone, is_active, created_at)
            SELECT {ids.tenant('b')}, '基准提醒' || lpad(b::text, 4, '0') || '区教育局', {code_sql('b')}, '{TIMEZONE}',
                   true, %(epoch)s
            FROM generate_series({lo}, {hi - 1}) AS b"""),
        ("units", f"""
            INSERT INTO units (id, tenant_id, parent_id, name, kind, sort_order, created_at)
            SELECT {ids.unit('b', 'u.ord - 1')}, {ids.tenant('b')},
                   CASE WHEN u.parent IS NOT NULL THEN {ids.unit('b', 'u.parent')} END, u.name, u.kind, 0, %(epoch)s
            FROM generate_series({lo}, {hi - 1}) AS b
            CROSS JOIN unnest(CAST(%(unit_names)s AS text[]), CAST(%(unit_kinds)s AS text[]),
                              CAST(%(unit_parents)s AS int[])) WITH ORDINALITY AS u(name, kind, parent, ord)"""),
        ("users", f"""
            INSERT INTO users (id, username, display_name, email, password_hash, oidc_subject, is_operator, is_active,
                               must_change_password, failed_logins, locked_until, password_changed_at, last_login_at,
                               created_at)
            SELECT {ids.user('p.b', 'p.key')}, p.code || '-' || p.key,
                   left(CASE WHEN p.ix IS NULL THEN p.code || p.display ELSE p.display END, 50),
                   p.code || '-' || p.key || '@bench.edu.cn', %(hash)s, NULL, false, true, false, 0, NULL, %(epoch)s,
                   NULL, %(epoch)s
            FROM ({people}) AS p"""),
        ("memberships", f"""
            INSERT INTO memberships (id, tenant_id, user_id, role, unit_id, is_active, created_at)
            SELECT {ids.member('p.b', 'p.key')}, {ids.tenant('p.b')}, {ids.user('p.b', 'p.key')}, p.role,
                   CASE WHEN p.ix IS NOT NULL THEN {ids.unit('p.b', 'p.ix')} END, true, %(epoch)s
            FROM ({people}) AS p"""),
        ("notification_preferences", f"""
            INSERT INTO notification_preferences (membership_id, tenant_id, email, sms, phone, daily_digest,
                                                  weekly_digest, updated_at)
            SELECT {ids.member('p.b', 'p.key')}, {ids.tenant('p.b')}, true, p.preference = 'sms',
                   CASE WHEN p.preference = 'sms' THEN p.phone ELSE '' END, p.preference <> 'no_digest', true,
                   %(epoch)s
            FROM ({people}) AS p WHERE p.preference IS NOT NULL"""),
        ("channel_configs", f"""
            INSERT INTO channel_configs (id, tenant_id, unit_id, kind, url, secret, enabled, created_at)
            SELECT md5('{s}:robot:' || b || ':' || ix)::uuid, {ids.tenant('b')},
                   CASE WHEN ix >= 0 THEN {ids.unit('b', 'ix')} END, 'wecom',
                   'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=' || md5('{s}:robot-key:' || b || ':' || ix),
                   '', true, %(epoch)s
            FROM generate_series({lo}, {hi - 1}) AS b
            CROSS JOIN generate_series(-1, {min(u, ROBOT_UNITS) - 1}) AS ix"""),
        ("tasks", f"""
            INSERT INTO tasks (id, tenant_id, number, year, seq, title, description, plan_item_id, deadline,
                               original_deadline, recurrence, priority, state, version, created_by, created_at,
                               updated_at, light, light_reason, report_frequency, progress, last_report_at, done_at)
            SELECT {ids.task('p.n')}, {ids.tenant('p.b')},
                   '督-{YEAR}-' || lpad(p.i::text, greatest(3, length(p.i::text)), '0'), {YEAR}, p.i,
                   left(p.title, 500), p.description, NULL, p.deadline, p.deadline, NULL, 'normal', p.lead_state,
                   1 + (p.lead_state <> 'assigned')::int + (p.previous_state IS NOT NULL)::int
                     + {filed_current}::int,
                   {ids.user('p.b', "'supervisor'")}, p.created_at,
                   greatest(p.created_at, p.previous_at, CASE WHEN {filed_current} THEN p.current_at END),
                   {light}, {reason}, 'monthly',
                   CASE WHEN {filed_current} THEN p.percent WHEN p.previous_state IS NOT NULL
                        THEN greatest(p.percent - 10, 0) ELSE 0 END,
                   CASE WHEN {filed_current} THEN p.current_at ELSE p.previous_at END, NULL
            FROM ({tasks}) AS p"""),
        ("task_assignments", f"""
            WITH p AS MATERIALIZED ({tasks})
            INSERT INTO task_assignments (id, tenant_id, task_id, unit_id, kind, deadline, state, created_at,
                                          original_deadline, acknowledged_at, acknowledged_by, sent_back_reason,
                                          done_at)
            SELECT {ids.assignment('p.n', "'lead'")}, {ids.tenant('p.b')}, {ids.task('p.n')},
                   {ids.unit('p.b', 'p.lead_ix')}, 'lead', p.deadline, p.lead_state, p.created_at, CAST(NULL AS date),
                   CASE WHEN p.lead_state <> 'assigned' THEN p.created_at + interval '1 day' END,
                   CASE WHEN p.lead_state <> 'assigned' THEN {ids.staff('p.b', 'p.lead_ix')} END, '',
                   CAST(NULL AS timestamptz)
            FROM p
            UNION ALL
            SELECT {ids.assignment('p.n', "'co'")}, {ids.tenant('p.b')}, {ids.task('p.n')},
                   {ids.unit('p.b', 'p.co_ix')}, 'cooperating', p.deadline,
                   CASE WHEN p.co_ack THEN 'acknowledged' ELSE 'assigned' END, p.created_at, NULL,
                   CASE WHEN p.co_ack THEN p.created_at + interval '1 day' END,
                   CASE WHEN p.co_ack THEN {ids.staff('p.b', 'p.co_ix')} END, '', NULL
            FROM p WHERE p.co_ix IS NOT NULL"""),
        ("progress_reports", f"""
            INSERT INTO progress_reports (id, tenant_id, task_id, unit_id, period, kind, progress, problems,
                                          next_steps, support_needed, percent, expected_completion, no_change,
                                          no_change_reason, state, due_on, late, exemplary, submitted_at,
                                          submitted_by, version, created_at, updated_at)
            SELECT {ids.report('p.n', 'r.period')}, {ids.tenant('p.b')}, {ids.task('p.n')},
                   {ids.unit('p.b', 'p.lead_ix')}, r.period, 'periodic',
                   '本期按计划推进，已完成阶段性工作' || r.percent || '%%。', '', '', '', r.percent, NULL, false, '',
                   r.state, r.due, false, false, CASE WHEN r.state <> 'draft' THEN r.at END,
                   CASE WHEN r.state <> 'draft' THEN {ids.staff('p.b', 'p.lead_ix')} END,
                   CASE r.state WHEN 'draft' THEN 1 WHEN 'submitted' THEN 2 ELSE 3 END, r.at - interval '1 hour',
                   CASE WHEN r.state = 'accepted' THEN r.at + interval '2 days' ELSE r.at END
            FROM ({tasks}) AS p
            CROSS JOIN LATERAL (VALUES
                (CAST(%(previous)s AS text), p.previous_state, CAST(%(previous_due)s AS date),
                 greatest(p.percent - 10, 0), p.previous_at),
                (CAST(%(current)s AS text), p.current_state, CAST(%(current_due)s AS date), p.percent, p.current_at)
            ) AS r(period, state, due, percent, at)
            WHERE r.state IS NOT NULL"""),
        ("report_reviews", f"""
            INSERT INTO report_reviews (id, tenant_id, report_id, decision, comment, reviewer_id, decided_at)
            SELECT md5('{s}:review:' || r.id)::uuid, r.tenant_id, r.id, 'accept', '', m.user_id, r.updated_at
            FROM progress_reports r JOIN memberships m ON m.tenant_id = r.tenant_id AND m.role = 'supervisor'
            WHERE r.tenant_id = ANY({chunk}) AND r.state = 'accepted'"""),
        ("notifications + outbox (history: each assignment told its unit, delivered)", f"""
            WITH decided AS (
                SELECT a.tenant_id, m.id AS membership_id, 'assign:' || a.task_id || ':' || a.unit_id AS key,
                       '新交办任务 ' || t.number AS title, left(t.title, 200) AS body, '/tasks/' || t.id AS link,
                       a.created_at
                FROM task_assignments a JOIN tasks t ON t.id = a.task_id
                JOIN memberships m ON m.unit_id = a.unit_id AND m.is_active AND m.role IN ('unit_head', 'unit_staff')
                WHERE a.tenant_id = ANY({chunk})
            ),
            new AS (
                INSERT INTO notifications (id, tenant_id, membership_id, dedupe_key, kind, title, body, link,
                                           created_at)
                SELECT gen_random_uuid(), d.tenant_id, d.membership_id, left(d.key || ':' || d.membership_id, 200),
                       'task_assigned', left(d.title, 200), left(d.body, 1000), left(d.link, 300), d.created_at
                FROM decided d
                RETURNING tenant_id, membership_id, dedupe_key, title, body, link, created_at
            ),
            copies AS (
                SELECT gen_random_uuid() AS id, c.* FROM (
                    SELECT 'email' AS channel, u.email AS recipient, n.* FROM new n
                    JOIN memberships m ON m.id = n.membership_id JOIN users u ON u.id = m.user_id
                    LEFT JOIN notification_preferences p ON p.membership_id = m.id
                    WHERE coalesce(p.email, true) AND coalesce(u.email, '') <> '' AND u.is_active
                    UNION ALL
                    SELECT 'sms', p.phone, n.* FROM new n
                    JOIN notification_preferences p ON p.membership_id = n.membership_id
                    WHERE p.sms AND p.phone <> ''
                ) c
            )
            INSERT INTO outbox (id, tenant_id, dedupe_key, channel, recipient, subject, body_text, body_html,
                                message_id, state, attempts, next_attempt_at, last_error, created_at, sent_at)
            SELECT id, tenant_id, left(dedupe_key || ':' || channel, 300), channel, left(recipient, 500),
                   left(title, 300), body || CASE WHEN link <> '' THEN E'\\n\\n' || %(base_url)s || link ELSE '' END,
                   '', CASE WHEN channel = 'email' THEN '<' || id::text || '@luoshi>' ELSE id::text END, 'sent', 1,
                   created_at + interval '1 minute', '', created_at, created_at + interval '1 minute'
            FROM copies"""),
    ]


def seed_bulk(plan: Plan, database_url: str, first: int, last: int, chunk: int, timer: Counter) -> None:
    import psycopg

    from backend.config import get_settings
    from backend.core.security import hash_password

    params = plan.params | {"hash": asyncio.run(hash_password(PASSWORD)),
                            "base_url": get_settings().base_url.rstrip("/")}
    started = time.perf_counter()
    with psycopg.connect(database_url) as conn:
        for lo in range(first, last, chunk):
            hi = min(lo + chunk, last)
            for what, statement in bulk_statements(plan, lo, hi):
                t0 = time.perf_counter()
                conn.execute(statement, params)
                timer[what] += time.perf_counter() - t0
            conn.commit()
            print(f"  bulk bureaus {lo:4d}–{hi - 1:4d} written   (total {time.perf_counter() - started:6.1f} s)",
                  flush=True)


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

    import backend.wiring  # noqa: F401 — tasks announce their changes (core/events.py)
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


def recreate_database(database_url: str) -> None:
    import psycopg

    base, _, name = database_url.rpartition("/")
    if not name.startswith("luoshi_bench"):
        raise SystemExit(f"refusing to drop {name!r}: the benchmark only drops databases named luoshi_bench*")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def owner_query(database_url: str, statement: str, params: dict | tuple | None = None) -> list[tuple]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute(statement, params).fetchall()


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
    catch_up = asyncio.run(_timed_sweep(previous, label="catch-up"))
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


# --- the clock -------------------------------------------------------------------------------------------


def local_at(args) -> datetime:
    from backend.tenancy.fanout import moment

    return moment(args.at).astimezone(ZoneInfo(TIMEZONE))


def previous_workday(at: datetime) -> datetime:
    from backend.core.calendar import is_workday

    day = at - timedelta(days=1)
    while not is_workday(day.date()):
        day -= timedelta(days=1)
    return day


# --- measuring -------------------------------------------------------------------------------------------

PHASES = ("get_policy", "_deadline_reminders", "_report_day_reminders", "_escalate", "daily_digests",
          "weekly_overview")


class Instrument:
    """Times each bureau's transaction (sweep_all's unit_of_work), each rule of sweep_bureau, and each statement."""

    def __init__(self) -> None:
        self.bureau_seconds: dict[uuid.UUID, float] = {}
        self.phase_seconds: Counter = Counter()
        self.statement_seconds: dict[str, list[float]] = defaultdict(list)
        self.statement_by_bureau: dict[str, dict[uuid.UUID, float]] = defaultdict(dict)
        self.statement_text: dict[str, str] = {}
        self.statements_per_bureau: Counter = Counter()
        self.sql_by_phase: Counter = Counter()
        self.current: uuid.UUID | None = None
        self.phase = "sweep_all"
        self._undo: list = []

    def install(self) -> None:
        from sqlalchemy import event

        from backend.db import get_engine
        from backend.reminders import jobs, sweep

        real_uow = jobs.unit_of_work

        @asynccontextmanager
        async def timed_uow(tenant_id=None):
            if tenant_id is None:
                async with real_uow() as session:
                    yield session
                return
            self.current, started = tenant_id, time.perf_counter()
            async with real_uow(tenant_id) as session:
                yield session
            self.bureau_seconds[tenant_id] = time.perf_counter() - started
            self.current, self.phase = None, "sweep_all"

        jobs.unit_of_work = timed_uow
        self._undo.append(lambda: setattr(jobs, "unit_of_work", real_uow))
        for name in PHASES:
            real = getattr(sweep, name)
            setattr(sweep, name, self._timed_phase(name, real))
            self._undo.append(lambda name=name, real=real: setattr(sweep, name, real))

        engine = get_engine().sync_engine

        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info.setdefault("bench_started", []).append(time.perf_counter())

        def after(conn, cursor, statement, parameters, context, executemany):
            seconds = time.perf_counter() - conn.info["bench_started"].pop()
            label = f"{self.phase}: {describe(statement)}"
            self.sql_by_phase[self.phase] += seconds
            self.statement_seconds[label].append(seconds)
            self.statement_text[label] = statement
            if self.current is not None:
                by_bureau = self.statement_by_bureau[label]
                by_bureau[self.current] = by_bureau.get(self.current, 0.0) + seconds
                self.statements_per_bureau[self.current] += 1

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        self._undo.append(lambda: (event.remove(engine, "before_cursor_execute", before),
                                   event.remove(engine, "after_cursor_execute", after)))

    def _timed_phase(self, name: str, real):
        async def timed(*args, **kwargs):
            outer, self.phase, started = self.phase, name, time.perf_counter()
            try:
                return await real(*args, **kwargs)
            finally:
                self.phase_seconds[name] += time.perf_counter() - started
                self.phase = outer

        return timed

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()


def describe(statement: str) -> str:
    """A short name for a statement of the sweep."""
    flat = " ".join(statement.split())
    if "INSERT INTO notifications" in flat:
        return "notify_decided (notifications + e-mail/SMS outbox)"
    if "INSERT INTO outbox" in flat:
        return "queue_robot_messages (robot outbox)"
    if "INSERT INTO supervision_notices" in flat:
        return "issue 督办单 (INSERT supervision_notices)"
    if "pg_advisory_xact_lock" in flat:
        return "advisory lock"
    if "set_config" in flat:
        return "set_config(app.tenant_id)"
    match = re.search(r"\bFROM\s+(\w+)", flat)
    digest = hashlib.md5(flat.encode()).hexdigest()[:4]  # noqa: S324 — tells apart statements on the same table
    return f"{flat.split()[0].upper()} {match.group(1) if match else ''} #{digest}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, int(-(-p * len(ordered) // 1)) - 1))]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def backend_cpu_seconds(database_url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend the app role has open on the database (from /proc): on a
    shared machine the wall time depends on the neighbours, the CPU time much less."""
    pids = [row[0] for row in owner_query(database_url, "SELECT pid FROM pg_stat_activity WHERE datname = "
                                          "current_database() AND usename <> current_user")]
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return out


async def _timed_sweep(at: datetime, *, label: str, instrument: Instrument | None = None) -> dict:
    """sweep_all(at) once, timed; the rows it wrote are counted afterwards as the owner."""
    from backend.db import dispose_engine, get_engine, unit_of_work
    from backend.reminders.jobs import sweep_all

    database_url = os.environ["DATABASE_URL"]
    try:
        get_engine()
        async with unit_of_work() as session:  # the pool is warm, as in a running worker
            from sqlalchemy import text

            await session.exec(text("SELECT 1"))
        if instrument:
            instrument.install()
        since = owner_query(database_url, "SELECT clock_timestamp()")[0][0]
        rss_before = peak_rss_mib()
        load_before = os.getloadavg()[0]
        db_before = backend_cpu_seconds(database_url)
        cpu_before = own_cpu_seconds()
        started = time.perf_counter()
        decisions = await sweep_all(at)
        seconds = time.perf_counter() - started
        cpu = own_cpu_seconds() - cpu_before
        db_after = backend_cpu_seconds(database_url)
        rss_after = peak_rss_mib()
        load_after = os.getloadavg()[0]
    finally:
        if instrument:
            instrument.uninstall()
        await dispose_engine()
    written = {
        "notifications": dict(owner_query(database_url, "SELECT kind, count(*) FROM notifications "
                                          "WHERE created_at >= %s GROUP BY kind ORDER BY kind", (since,))),
        "outbox": dict(owner_query(database_url, "SELECT channel, count(*) FROM outbox WHERE created_at >= %s "
                                   "GROUP BY channel ORDER BY channel", (since,))),
        "supervision_notices": dict(owner_query(database_url, "SELECT level, count(*) FROM supervision_notices "
                                                "WHERE issued_at >= %s GROUP BY level ORDER BY level", (since,))),
    }
    rows = sum(sum(v.values()) for v in written.values())
    return {"label": label, "at": at.isoformat(), "seconds": seconds, "decisions": decisions, "written": written,
            "rows_written": rows, "rows_per_second": rows / seconds if seconds else 0.0, "since": since.isoformat(),
            "client_cpu_seconds": cpu,
            "postgres_cpu_seconds": sum(v - db_before.get(pid, 0.0) for pid, v in db_after.items()),
            "load_average_1min_before_after": [round(load_before, 2), round(load_after, 2)],
            "peak_rss_mib_before": round(rss_before, 1), "peak_rss_mib_after": round(rss_after, 1)}


async def _forget_earlier_sweep_jobs() -> None:
    """The tick names each job `sweep:<bureau>:<tick>`, and arq refuses a job id it still holds (queued, running
    or a kept result): jobs of an earlier run at the same --at would silently not run. This benchmark's Redis
    database is its own, so they are deleted."""
    from redis.asyncio import Redis

    redis = Redis.from_url(os.environ["REDIS_URL"])
    try:
        stale = [key async for key in redis.scan_iter(match="arq:*sweep:*")]
        if stale:
            await redis.delete(*stale)
    finally:
        await redis.aclose()


async def _fanned_out_sweep(at: datetime, jobs: int, processes: int) -> dict:
    """What production does: the cron tick enqueues one `sweep_reminders` job per bureau; `processes` arq workers
    (subprocesses of `luoshi worker`'s settings, burst mode) each run up to `jobs` of them at a time. Timed from
    the tick until the queue is empty."""
    from backend.db import dispose_engine
    from backend.reminders.jobs import sweep_reminders

    database_url = os.environ["DATABASE_URL"]
    await _forget_earlier_sweep_jobs()
    since = owner_query(database_url, "SELECT clock_timestamp()")[0][0]
    db_before = backend_cpu_seconds(database_url)
    started = time.perf_counter()
    ticked = await sweep_reminders({}, at=at.isoformat())
    await dispose_engine()
    # The Worker is built inside the running loop (arq binds it to the loop it is created in).
    worker = ("import asyncio; from arq import Worker; from workers.settings import WorkerSettings; "
              "from backend.core.jobs import redis_settings\n"
              "async def main():\n"
              "    await Worker(functions=WorkerSettings.functions, redis_settings=redis_settings(), burst=True, "
              f"handle_signals=False, poll_delay=0.05, max_jobs={jobs}).main()\n"
              "asyncio.run(main())")
    children = [await asyncio.create_subprocess_exec(sys.executable, "-c", worker, cwd=ROOT)
                for _ in range(processes)]
    for child in children:
        await child.wait()
    seconds = time.perf_counter() - started
    db_after = backend_cpu_seconds(database_url)
    rows = owner_query(database_url, "SELECT (SELECT count(*) FROM notifications WHERE created_at >= %s) + "
                       "(SELECT count(*) FROM outbox WHERE created_at >= %s) + "
                       "(SELECT count(*) FROM supervision_notices WHERE issued_at >= %s)", (since, since, since))[0][0]
    return {"label": f"fanned out: {processes} worker processes × {jobs} jobs", "seconds": seconds,
            "bureaus": ticked["bureaus"], "rows_written": rows,
            "rows_per_second": rows / seconds if seconds else 0.0,
            "postgres_cpu_seconds_sampled": sum(v - db_before.get(pid, 0.0) for pid, v in db_after.items()),
            "worker_exit_codes": [child.returncode for child in children]}


def summary_of(run: dict) -> dict:
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in run.items()}


def bureau_stats(instrument: Instrument) -> dict:
    ms = [s * 1000 for s in instrument.bureau_seconds.values()]
    per = list(instrument.statements_per_bureau.values())
    if not ms:
        return {}
    return {"bureaus": len(ms), "mean_ms": round(statistics.fmean(ms), 2), "p50_ms": round(percentile(ms, .5), 2),
            "p95_ms": round(percentile(ms, .95), 2), "max_ms": round(max(ms), 2),
            "statements_per_bureau": round(statistics.fmean(per), 1) if per else 0}


def statement_table(instrument: Instrument, top: int = 12) -> list[dict]:
    rows = [{"statement": label, "calls": len(times), "total_s": round(sum(times), 3),
             "mean_ms": round(1000 * sum(times) / len(times), 3), "max_ms": round(1000 * max(times), 2)}
            for label, times in instrument.statement_seconds.items()]
    return sorted(rows, key=lambda r: -r["total_s"])[:top]


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


# --- the report --------------------------------------------------------------------------------------------


def print_run(run: dict, stats: dict, instrument: Instrument) -> None:
    print(f"  total {run['seconds']:.2f} s for {stats.get('bureaus', 0)} bureaus; per bureau mean "
          f"{stats.get('mean_ms', 0):.1f} ms, p50 {stats.get('p50_ms', 0):.1f}, p95 {stats.get('p95_ms', 0):.1f}, "
          f"max {stats.get('max_ms', 0):.1f}; {stats.get('statements_per_bureau', 0)} SQL statements per bureau")
    print(f"  decisions (sweep_all's totals): {run['decisions']}")
    print(f"  written: notifications {run['written']['notifications'] or 0}; outbox {run['written']['outbox'] or 0}; "
          f"督办单 {run['written']['supervision_notices'] or 0}")
    print(f"  {run['rows_written']:,} rows in {run['seconds']:.2f} s = {run['rows_per_second']:,.0f} rows/s; peak RSS "
          f"{run['peak_rss_mib_after']:.0f} MiB (before the sweep {run['peak_rss_mib_before']:.0f} MiB)")
    print(f"  CPU: this process {run['client_cpu_seconds']:.1f} s, its PostgreSQL backend(s) "
          f"{run['postgres_cpu_seconds']:.1f} s, of {run['seconds']:.1f} s wall; load average (1 min) "
          f"{run['load_average_1min_before_after'][0]} → {run['load_average_1min_before_after'][1]} on "
          f"{os.cpu_count()} CPUs")
    print("  seconds by rule (wall / in SQL statements / the rest: Python, driver, waits):")
    for name, wall in instrument.phase_seconds.most_common():
        sql = instrument.sql_by_phase[name]
        print(f"    {name:<22}{wall:9.2f}{sql:9.2f}{wall - sql:9.2f}")
    outside = sum(instrument.bureau_seconds.values()) - sum(instrument.sql_by_phase.values())
    print(f"    {'all bureaus':<22}{sum(instrument.bureau_seconds.values()):9.2f}"
          f"{sum(instrument.sql_by_phase.values()):9.2f}{outside:9.2f}")


def by_rule(instrument: Instrument) -> dict:
    return {name: {"wall_s": round(wall, 3), "sql_s": round(instrument.sql_by_phase[name], 3),
                   "other_s": round(wall - instrument.sql_by_phase[name], 3)}
            for name, wall in instrument.phase_seconds.most_common()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bureaus", type=int, default=1000, help="bureaus; bureau 0 is built through the services")
    ap.add_argument("--tasks-per-bureau", type=int, default=1000, help="open tasks per bureau")
    ap.add_argument("--units-per-bureau", type=int, default=20, help="units per bureau (each a head and a staff)")
    ap.add_argument("--seed", type=int, default=20261222, help="seed of the generated data")
    ap.add_argument("--at", default=DEFAULT_AT, help="the moment the sweep runs as of (ISO, with offset)")
    ap.add_argument("--reseed", action="store_true", help="rebuild the database even if it matches")
    ap.add_argument("--explain", action="store_true", help="EXPLAIN the heaviest statement even under 30 s")
    ap.add_argument("--fan-out", type=int, default=0, metavar="JOBS",
                    help="also run the sweep as the cron does: one arq job per bureau, JOBS at a time per worker")
    ap.add_argument("--fan-out-processes", type=int, default=2, help="worker processes for --fan-out")
    ap.add_argument("--chunk", type=int, default=50, help="bulk bureaus per transaction while seeding")
    ap.add_argument("--database-url", default=os.environ.get("LUOSHI_BENCH_REMINDERS_DATABASE_URL",
                                                             DEFAULT_DATABASE_URL))
    ap.add_argument("--redis-url", default=os.environ.get("LUOSHI_BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = ap.parse_args()
    if args.bureaus < 1 or args.tasks_per_bureau < 1 or args.units_per_bureau < 1 or args.bureaus > 9999:
        ap.error("--bureaus (1–9999), --tasks-per-bureau and --units-per-bureau must be at least 1")
    if not args.database_url.rpartition("/")[2].startswith("luoshi_bench"):
        ap.error("the database's name must start with luoshi_bench")
    _environment(args.database_url, args.redis_url)
    plan = Plan(args)
    at = local_at(args)
    from backend.core.calendar import is_workday

    if not is_workday(at.date()):
        print(f"note: {at.date()} is not a working day; the deadline and report-day rules fire on working days only")

    total_tasks = args.bureaus * args.tasks_per_bureau
    print(f"reminder sweep benchmark: {args.bureaus} bureaus × {args.tasks_per_bureau} tasks = {total_tasks:,} open "
          f"tasks, {args.units_per_bureau} units per bureau; at {at.isoformat()} "
          f"({args.database_url.rpartition('/')[2]})", flush=True)
    meta = None if args.reseed else read_meta(args.database_url)
    why = "--reseed" if args.reseed else "no seeded database"
    if meta is not None:
        if meta.get("key") != reuse_key(args):
            why, meta = f"it was seeded with {meta.get('key')}", None
        elif meta.get("revision") != head_revision() or meta.get("revision_now") != head_revision():
            why, meta = f"its schema is at {meta.get('revision_now')}, the code at {head_revision()}", None
    seeded_now = meta is None
    if meta is None:
        print(f"seeding ({why}) …", flush=True)
        started = time.perf_counter()
        meta = seed(args, plan)
        print(f"seeded in {time.perf_counter() - started:.1f} s: " + ", ".join(
            f"{k} {v} s" for k, v in meta["seconds"].items()), flush=True)
    else:
        print(f"reusing the database seeded at {meta['seeded_at']} (in {sum(meta['seconds'].values()):.0f} s)")
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in meta["rows"].items()) + f"; size {meta['size']}")

    write_setting(args.database_url, "track_io_timing", "on")  # I/O times in EXPLAIN (BUFFERS); this database only
    t0 = time.perf_counter()
    deleted = reset(args.database_url, meta["marker"])
    if any(deleted.values()):
        print(f"reset: removed what the last run wrote ({deleted}) in {time.perf_counter() - t0:.1f} s")

    check = asyncio.run(equivalence(meta, args))

    print(f"\nRun 1: sweep_all({at.isoformat()}) — decide and enqueue the day's reminders", flush=True)
    first = Instrument()
    run1 = asyncio.run(_timed_sweep(at, label="first", instrument=first))
    stats1 = bureau_stats(first)
    print_run(run1, stats1, first)
    statements = statement_table(first)
    print("  heaviest statements (all bureaus):")
    for row in statements[:8]:
        print(f"    {row['total_s']:8.2f} s {row['calls']:6d} calls {row['mean_ms']:8.2f} ms mean  {row['statement']}")

    print("\nRun 2: the same sweep again (must decide nothing new)", flush=True)
    second = Instrument()
    run2 = asyncio.run(_timed_sweep(at, label="second (no-op)", instrument=second))
    stats2 = bureau_stats(second)
    print_run(run2, stats2, second)
    idempotent = run2["rows_written"] == 0 and not any(run2["decisions"].values())
    print(f"  {'idempotent: nothing new decided' if idempotent else 'NOT IDEMPOTENT: the second run wrote rows'}")

    run3 = None
    if args.fan_out:
        print(f"\nRun 3: as the cron does — one job per bureau, {args.fan_out_processes} worker processes × "
              f"{args.fan_out} jobs each (what run 1 wrote is removed first)", flush=True)
        reset(args.database_url, meta["marker"])
        run3 = asyncio.run(_fanned_out_sweep(at, args.fan_out, args.fan_out_processes))
        print(f"  total {run3['seconds']:.2f} s for {run3['bureaus']} bureaus; {run3['rows_written']:,} rows "
              f"({run3['rows_per_second']:,.0f} rows/s); worker exit codes {run3['worker_exit_codes']}")

    plan_out = None
    if run1["seconds"] > TARGET_SECONDS or args.explain:
        print("\nEXPLAIN (ANALYZE, BUFFERS) of the heaviest statement, for one bureau (rolled back):", flush=True)
        plan_out = asyncio.run(explain(first, args.database_url, at, run1["since"]))
        print(f"  {plan_out['statement']} — bureau {plan_out['bureau']} (median bureau for this statement; "
              f"{plan_out['measured_ms_in_run']} ms in run 1)")
        for line in plan_out["plan"]:
            print("  | " + line)

    verdict = "within" if run1["seconds"] <= TARGET_SECONDS else "OVER"
    print(f"\n{total_tasks:,} open tasks: decided and enqueued in {run1['seconds']:.1f} s ({verdict} the "
          f"{TARGET_SECONDS:.0f} s target); no-op sweep {run2['seconds']:.1f} s")

    from bench.board import machine

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "machine": machine(), "parameters": reuse_key(args) | {"chunk": args.chunk, "shares": SHARES,
                                                                "robot_units": ROBOT_UNITS},
        "database": args.database_url.rpartition("/")[2], "seeded_in_this_run": seeded_now,
        "seed": {k: meta.get(k) for k in ("seeded_at", "seconds", "rows", "size", "catch_up")},
        "reset": deleted, "equivalence": check,
        "run1": summary_of(run1) | {"per_bureau": stats1, "seconds_by_rule": by_rule(first),
                                    "statements": statements},
        "run2": summary_of(run2) | {"per_bureau": stats2, "seconds_by_rule": by_rule(second),
                                    "idempotent": idempotent},
        "run3_fanned_out": summary_of(run3) if run3 else None,
        "target_seconds": TARGET_SECONDS, "explain": plan_out,
    }
    (RESULTS / "reminders.json").write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str) + "\n")
    print(f"written: {(RESULTS / 'reminders.json').relative_to(ROOT)}")
    return 0 if idempotent and check.get("equivalent", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
