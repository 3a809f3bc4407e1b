"""The `luoshi` command: serve, worker, demo, migrate and the administrative commands. Each command imports what it
uses when it runs, so `luoshi --help` and the small commands start without loading the whole app."""

import argparse
import asyncio
import getpass
import json
import os
import signal
import sys
from pathlib import Path

from backend.i18n import _


def _run(coro):
    return asyncio.run(coro)


def cmd_migrate(args) -> None:
    from backend.core.migrate import migrate

    migrate()
    print(_("数据库已迁移到最新版本，应用角色已就绪。"))


def server_options(*, host: str, port: int, workers: int | None = None) -> dict:
    """How every Luoshi web server is run. X-Forwarded-For/-Proto are believed only from LUOSHI_TRUSTED_PROXIES
    (none by default): uvicorn would otherwise trust 127.0.0.1 or FORWARDED_ALLOW_IPS, and a client could name
    any address it liked to the login throttle and the audit log (issue 14, finding 5)."""
    from backend.config import get_settings

    trusted = ",".join(p.strip() for p in get_settings().trusted_proxies.split(",") if p.strip())
    options: dict = {"app": "backend.web:create_app", "factory": True, "host": host, "port": port,
                     "log_config": None, "proxy_headers": bool(trusted)}
    if trusted:
        options["forwarded_allow_ips"] = trusted
    if workers:
        options["workers"] = workers
    return options


def server_config(*, host: str, port: int, workers: int | None = None):
    import uvicorn

    return uvicorn.Config(**server_options(host=host, port=port, workers=workers))


def cmd_serve(args) -> None:
    import uvicorn

    uvicorn.run(**server_options(host=args.host, port=args.port, workers=args.workers))


def cmd_worker(args) -> None:
    from workers.settings import build_worker

    build_worker().run()


async def _bureau_id(code: str) -> str:
    """The id of the bureau an operator names by its 简称 (refused with a message when there is none)."""
    from sqlmodel import select

    from backend.db import unit_of_work
    from backend.tenancy.models import Tenant

    async with unit_of_work() as session:
        found = (await session.exec(select(Tenant.id).where(Tenant.code == code))).first()
    if found is None:
        raise SystemExit(_("找不到简称为 %(code)s 的教育局。", code=code))
    return str(found)


async def _with_session(tenant_code: str | None, body):
    from sqlmodel import select

    from backend.db import dispose_engine, set_context, unit_of_work
    from backend.tenancy.models import Tenant

    try:
        async with unit_of_work() as session:
            tenant = None
            if tenant_code:
                tenant = (await session.exec(select(Tenant).where(Tenant.code == tenant_code))).first()
                if tenant is None:
                    raise SystemExit(_("找不到简称为 %(code)s 的教育局。", code=tenant_code))
                await set_context(session, tenant.id)
            return await body(session, tenant)
    finally:
        await dispose_engine()


def cmd_tenant_create(args) -> None:
    from backend.tenancy.service import create_tenant

    async def body(session, _tenant):
        tenant = await create_tenant(session, None, name=args.name, code=args.code, timezone=args.timezone)
        print(_("已创建教育局：%(name)s（%(code)s）", name=tenant.name, code=tenant.code))

    _run(_with_session(None, body))


def _password(args) -> str:
    return args.password or os.environ.get("LUOSHI_NEW_PASSWORD") or getpass.getpass(_("密码："))


def cmd_user_create(args) -> None:
    from backend.accounts.service import create_user

    async def body(session, _tenant):
        user = await create_user(session, username=args.username, display_name=args.name or args.username,
                                 password=_password(args), email=args.email, is_operator=args.operator,
                                 must_change_password=args.must_change)
        print(_("已创建账号：%(name)s", name=user.username))

    _run(_with_session(None, body))


def cmd_member_add(args) -> None:
    from sqlmodel import select

    from backend.accounts.service import get_user_by_username
    from backend.core.roles import Role
    from backend.tenancy.models import Unit
    from backend.tenancy.service import add_member

    async def body(session, tenant):
        user = await get_user_by_username(session, args.username)
        if user is None:
            raise SystemExit(_("找不到登录名为 %(name)s 的账号，请先用 luoshi user create 创建。", name=args.username))
        unit_id = None
        if args.unit:
            unit = (await session.exec(select(Unit).where(Unit.name == args.unit))).first()
            if unit is None:
                raise SystemExit(_("本局没有名为 %(name)s 的单位。", name=args.unit))
            unit_id = unit.id
        await add_member(session, None, tenant_id=tenant.id, user=user, role=Role(args.role), unit_id=unit_id)
        print(_("%(user)s 已加入 %(tenant)s", user=user.username, tenant=tenant.name))

    _run(_with_session(args.tenant, body))


def cmd_token_create(args) -> None:
    from backend.accounts.service import create_api_token, get_user_by_username
    from backend.tenancy.acting import actor_for

    async def body(session, tenant):
        user = await get_user_by_username(session, args.username)
        if user is None:
            raise SystemExit(_("找不到登录名为 %(name)s 的账号。", name=args.username))
        actor = await actor_for(session, user, tenant.id)
        _token, raw = await create_api_token(session, actor, name=args.name)
        print(raw)

    _run(_with_session(args.tenant, body))


def cmd_demo(args) -> None:
    from backend.config import get_settings

    settings = get_settings()
    embedded = None
    if not settings.database_url or not settings.redis_url:
        from backend.core.embedded import EmbeddedServices

        embedded = EmbeddedServices(settings.data_dir)

    def stop_on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)
    try:
        if embedded and not settings.database_url:
            os.environ["DATABASE_URL"] = embedded.start_postgres()
        if embedded and not settings.redis_url:
            os.environ["REDIS_URL"] = embedded.start_redis()
        get_settings.cache_clear()
        from backend.core.migrate import migrate

        migrate()
        asyncio.run(_demo(args))
    except KeyboardInterrupt:
        pass
    finally:
        if embedded:
            embedded.stop()
        print(_("落实已停止。"), flush=True)


async def _demo(args) -> None:
    import uvicorn

    from backend.core.roles import role_label
    from backend.db import dispose_engine
    from backend.demo import DEMO_PASSWORD, ensure_demo_bureau, luoshi_command
    from workers.settings import build_worker

    logins = await ensure_demo_bureau()
    await dispose_engine()
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104
    url = f"http://{shown_host}:{args.port}"
    print("\n" + _("落实演示已启动：%(url)s", url=url))
    print(_("所有演示账号的密码都是：%(password)s", password=DEMO_PASSWORD))
    for login in logins:
        role = _("平台运维") if login.role == "operator" else role_label(login.role)
        print(f"  {login.username:<10} {login.display_name}（{role}）")
    # Commands that work pasted into another terminal: the full path of this install's luoshi, and the addresses
    # of this run's database and Redis (the embedded Redis's socket keeps its path inside the data directory).
    print(_("移动演示时钟，看提醒和督办如何发出（另开一个终端）："))
    print(f"  {luoshi_command(with_services=True)} remind --at 2026-12-21T09:00+08:00")
    print(_("给示范局补录一年的报送与审核（另开一个终端）："))
    print(f"  {luoshi_command(with_services=True)} demo-year")
    print(_("按 Ctrl-C 停止。") + "\n", flush=True)
    server = uvicorn.Server(server_config(host=args.host, port=args.port))
    worker = build_worker(handle_signals=False)
    worker_task = asyncio.create_task(worker.async_run())
    try:
        await server.serve()
    finally:
        worker_task.cancel()
        await asyncio.gather(worker_task, return_exceptions=True)
        await worker.close()


def cmd_remind(args) -> None:
    """Runs the reminder rules and the sender now, or as of --at: how an operator (or a demo) moves the clock."""
    from backend.core import clock
    from backend.db import dispose_engine
    from backend.delivery.jobs import deliver_outbox
    from backend.reminders.jobs import sweep_all

    async def run() -> tuple[dict[str, int], int]:
        try:
            only = await _bureau_id(args.bureau) if args.bureau else None
            decided = await sweep_all(clock.parse_moment(args.at), only)
            sent = await deliver_outbox({}, at=args.at, tenant_id=only) if args.deliver else 0
            return decided, sent
        finally:
            await dispose_engine()

    try:
        decided, sent = _run(run())
    except ValueError:
        raise SystemExit(_("时间格式不对，请写成 2026-12-21T09:00+08:00。")) from None
    print(_("到期提醒 %(d)s 人次，报送提醒 %(r)s 人次，督办单 %(n)s 份（通知 %(e)s 人次），每日摘要 %(g)s 人，"
            "每周概览 %(w)s 人，群机器人消息 %(b)s 条。", d=decided.get("deadline", 0), r=decided.get("report_day", 0),
            n=decided.get("notices", 0), e=decided.get("escalated", 0), g=decided.get("digests", 0),
            w=decided.get("weekly", 0), b=decided.get("robots", 0)))
    if args.deliver:
        print(_("已发送 %(n)s 条消息（免打扰时段内的消息留待结束后发送）。", n=sent))


def cmd_demo_year(args) -> None:
    """Files the demo bureau's year through the services, day by day as of each date, up to --until."""
    from datetime import date

    from backend.core import clock
    from backend.db import dispose_engine
    from backend.demo_year import YEAR, run_demo_year, summary_lines

    today = clock.local_today()
    try:
        until = date.fromisoformat(args.until) if args.until else min(today, date(YEAR, 12, 31))
    except ValueError:
        raise SystemExit(_("日期格式不对，请写成 %(year)s-06-30。", year=YEAR)) from None
    if until > today:
        raise SystemExit(_("--until 不能晚于今天（%(today)s）：演示只补录已经过去的日子。", today=today))

    async def run():
        try:
            return await run_demo_year(until)
        finally:
            await dispose_engine()

    print("\n".join(summary_lines(_run(run()), until)))


def cmd_plan_parse(args) -> None:
    from backend.plans.parser import parse_file, parse_to_dict

    data = Path(args.file).read_bytes()
    parsed = parse_file(data, Path(args.file).name)
    print(json.dumps(parse_to_dict(parsed), ensure_ascii=False, indent=2 if args.json else None))


def cmd_backup(args) -> None:
    from backend.ops.backup import backup

    backup(Path(args.out))


def cmd_restore(args) -> None:
    from backend.ops.restore import restore

    if restore(Path(args.source)):  # the differences, already printed
        raise SystemExit(1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="luoshi", description="落实 — 教育督查督办平台")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, help_text in (("serve", "运行 Web 服务"), ("demo", "演示：内置数据库与 Redis，创建示范局并运行")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        if name == "serve":
            p.add_argument("--workers", type=int, default=1)
        p.set_defaults(func=cmd_serve if name == "serve" else cmd_demo)
    sub.add_parser("worker", help="运行后台任务（arq）").set_defaults(func=cmd_worker)
    p = sub.add_parser("remind", help="立即执行提醒与督办规则（可指定时间，用于演示和补发）")
    p.add_argument("--at", default=None, help="按此时间执行，例如 2026-12-21T09:00+08:00；不写则为现在")
    p.add_argument("--no-deliver", dest="deliver", action="store_false", help="只作决定，不发送")
    p.add_argument("--bureau", default=None, help="只处理这个教育局（简称，例如 taicang）；不写则为全部")
    p.set_defaults(func=cmd_remind)
    p = sub.add_parser("demo-year", help="演示：给示范局按日期补录一年的报送、审核、办结和延期")
    p.add_argument("--until", default=None, help="补录到这一天（含），例如 2026-06-30；不写则到今天")
    p.set_defaults(func=cmd_demo_year)
    sub.add_parser("migrate", help="迁移数据库到最新版本并创建应用角色").set_defaults(func=cmd_migrate)
    p = sub.add_parser("backup", help="把数据库和文件备份到一个归档（应用可以继续运行）")
    p.add_argument("--out", required=True, help="归档文件（.tar），或一个目录（在其中按时间命名）")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="从 luoshi backup 的归档恢复到全新的空系统")
    p.add_argument("--from", dest="source", required=True, help="备份归档")
    p.set_defaults(func=cmd_restore)

    tenant = sub.add_parser("tenant", help="教育局").add_subparsers(dest="action", required=True)
    p = tenant.add_parser("create", help="创建教育局")
    p.add_argument("--name", required=True)
    p.add_argument("--code", required=True)
    p.add_argument("--timezone", default=None, help="IANA zone (default: LUOSHI_DEFAULT_TIMEZONE)")
    p.set_defaults(func=cmd_tenant_create)

    user = sub.add_parser("user", help="账号").add_subparsers(dest="action", required=True)
    p = user.add_parser("create", help="创建账号")
    p.add_argument("--username", required=True)
    p.add_argument("--name")
    p.add_argument("--email")
    p.add_argument("--password", help="不提供时从 LUOSHI_NEW_PASSWORD 或交互输入读取")
    p.add_argument("--operator", action="store_true", help="平台运维账号")
    p.add_argument("--must-change", action="store_true", help="首次登录须修改密码")
    p.set_defaults(func=cmd_user_create)

    member = sub.add_parser("member", help="成员").add_subparsers(dest="action", required=True)
    p = member.add_parser("add", help="把账号加入教育局")
    p.add_argument("--tenant", required=True, help="教育局简称")
    p.add_argument("--username", required=True)
    p.add_argument("--role", required=True, choices=["admin", "supervisor", "leader", "unit_head", "unit_staff"])
    p.add_argument("--unit", help="单位名称（单位负责人、经办人必填）")
    p.set_defaults(func=cmd_member_add)

    token = sub.add_parser("token", help="API 令牌").add_subparsers(dest="action", required=True)
    p = token.add_parser("create", help="为成员创建个人 API 令牌（只显示一次）")
    p.add_argument("--tenant", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--name", required=True, help="用途")
    p.set_defaults(func=cmd_token_create)

    plan = sub.add_parser("plan", help="工作要点").add_subparsers(dest="action", required=True)
    p = plan.add_parser("parse", help="解析工作要点文件并输出结构")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="输出缩进的 JSON")
    p.set_defaults(func=cmd_plan_parse)
    return parser


def main(argv: list[str] | None = None) -> None:
    from backend.errors import DomainError

    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except DomainError as error:
        print(error.message, file=sys.stderr)
        raise SystemExit(2) from error


if __name__ == "__main__":
    main()
