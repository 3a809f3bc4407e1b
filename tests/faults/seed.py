"""Builds the fault tests' bureau through the services in the database DATABASE_URL names, and prints what the test
needs as JSON. Run as a subprocess (`python -m tests.faults.seed`), so that the test process's own engine and
settings (pointed at the shared test database) are left alone."""

import asyncio
import json

from sqlmodel import col, select

from backend.accounts.service import create_api_token
from backend.core.roles import Role
from backend.db import dispose_engine, unit_of_work
from backend.tasks.models import Task
from tests.support.fixtures import create_bureau

TOKEN_ROLES = (Role.admin, Role.supervisor, Role.unit_head)


async def main() -> dict:
    try:
        bureau = await create_bureau("故障测试教育局", emails=True)
        tenant_id = bureau.tenant.id
        async with unit_of_work(tenant_id) as session:
            tokens = {role.value: (await create_api_token(session, bureau.actors[role], name="故障测试"))[1]
                      for role in TOKEN_ROLES}
            tasks = (await session.exec(select(Task).order_by(col(Task.seq)))).all()
        return {
            "tenant_id": str(tenant_id),
            "tokens": tokens,
            "usernames": {role.value: bureau.username(role) for role in Role},
            "emails": {role.value: bureau.users[role].email for role in Role},
            "units": {name: str(unit.id) for name, unit in bureau.units.items()},
            "tasks": [{"id": str(t.id), "number": t.number, "state": t.state, "version": t.version} for t in tasks],
        }
    finally:
        await dispose_engine()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), ensure_ascii=False))
