"""The reminder benchmark's data plan (bench/reminders.py): the shares, the bureaus' units and people, the
plan of every task in SQL (one query both seeding paths read), the bulk path that writes 999 bureaus with
INSERT … SELECT, and the moment the sweep runs as of."""

# ruff: noqa: S608 — the SQL is composed from this file's constants and integers; every value is a bound parameter.
from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bench.seed_tasks import MEASURES, OFFICES, PASSWORD, TOPICS, VERBS

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
    from backend.delivery.notify import COPIES_SQL  # who gets an e-mail / SMS copy, exactly as the services decide
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
            copies AS ({COPIES_SQL})
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


# --- the clock -------------------------------------------------------------------------------------------


def local_at(args) -> datetime:
    from backend.core.clock import parse_moment

    return parse_moment(args.at).astimezone(ZoneInfo(TIMEZONE))


def previous_workday(at: datetime) -> datetime:
    from backend.core.calendar import is_workday

    day = at - timedelta(days=1)
    while not is_workday(day.date()):
        day -= timedelta(days=1)
    return day
