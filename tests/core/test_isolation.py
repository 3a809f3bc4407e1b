"""Row-level security: with tenant A set, the application role sees none of B's rows and cannot write any."""

import json
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError

from backend.db import get_engine, unit_of_work
from backend.models import metadata, tenant_tables


async def test_every_tenant_table_has_rls_policy():
    async with unit_of_work() as session:
        rows = (await session.exec(text(
            "SELECT c.relname, c.relrowsecurity, count(p.polname) FROM pg_class c "
            "LEFT JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace "
            "GROUP BY c.relname, c.relrowsecurity"
        ))).all()
    status = {name: (enabled, policies) for name, enabled, policies in rows}
    assert tenant_tables(), "no tenant tables found"
    for table in tenant_tables():
        assert status[table] == (True, 1), f"{table} is not under row-level security"


async def test_app_role_is_not_privileged():
    async with unit_of_work() as session:
        superuser, bypass = (await session.exec(text(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ))).one()
        owns = (await session.exec(text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
        ))).one()[0]
    assert (superuser, bypass, owns) == (False, False, 0)


async def test_unfiltered_select_sees_only_own_tenant(whole_bureau, other_whole_bureau):
    for table in tenant_tables():
        async with unit_of_work(whole_bureau.tenant.id) as session:
            tenants = {row[0] for row in (await session.exec(text(f"SELECT DISTINCT tenant_id FROM {table}"))).all()}
        assert other_whole_bureau.tenant.id not in tenants, table
        assert tenants <= {whole_bureau.tenant.id}, table
    async with unit_of_work(whole_bureau.tenant.id) as session:
        units = (await session.exec(text("SELECT count(*) FROM units"))).one()[0]
    assert units == 2  # this bureau's office and school, none of the other's


async def test_no_tenant_set_sees_nothing(whole_bureau):
    async with unit_of_work(None) as session:
        for table in tenant_tables():
            count = (await session.exec(text(f"SELECT count(*) FROM {table} WHERE tenant_id IS NOT NULL"))).one()[0]
            assert count == 0, table


@pytest.mark.parametrize("table", [t for t in tenant_tables()])
async def test_insert_of_other_tenant_row_is_refused(whole_bureau, other_whole_bureau, table):
    """Build a row that is valid for B in every column, then try to write it while A is set."""
    columns = metadata.tables[table].c
    async with unit_of_work(other_whole_bureau.tenant.id) as session:
        template = (await session.exec(text(f"SELECT * FROM {table} LIMIT 1"))).mappings().first()
    assert template is not None, f"create_bureau must make a {table} row, so that this test covers the table"
    json_columns = {c.name for c in columns if isinstance(c.type, JSONB)}
    row = {k: json.dumps(v) if k in json_columns else v for k, v in template.items()}
    for name in ("id",):
        if name in columns:
            row[name] = uuid.uuid4()
    for column in columns:
        # A unique column gets a fresh value of its type (NULL never collides: kept as it is).
        if column.unique and column.name != "id" and row[column.name] is not None:
            row[column.name] = uuid.uuid4() if column.type.python_type is uuid.UUID else uuid.uuid4().hex
    for constraint in metadata.tables[table].constraints:
        if constraint.__class__.__name__ == "UniqueConstraint" and len(constraint.columns) > 1:
            for column in constraint.columns:
                if column.name != "tenant_id" and column.type.python_type is str:
                    row[column.name] = uuid.uuid4().hex[:20]
    names = ", ".join(row)
    values = ", ".join(f"CAST(:{k} AS jsonb)" if k in json_columns else f":{k}" for k in row)
    with pytest.raises(DBAPIError, match="row-level security"):
        async with unit_of_work(whole_bureau.tenant.id) as session:
            await session.exec(text(f"INSERT INTO {table} ({names}) VALUES ({values})").bindparams(**row))


async def test_update_and_delete_cannot_reach_other_tenant(whole_bureau, other_whole_bureau):
    async with unit_of_work(whole_bureau.tenant.id) as session:
        updated = (await session.exec(text("UPDATE units SET name = name || 'x' WHERE tenant_id = :b").bindparams(
            b=other_whole_bureau.tenant.id))).rowcount
        deleted = (await session.exec(text("DELETE FROM memberships WHERE tenant_id = :b").bindparams(
            b=other_whole_bureau.tenant.id))).rowcount
    assert (updated, deleted) == (0, 0)


async def test_audit_log_is_append_only(whole_bureau):
    with pytest.raises(DBAPIError):
        async with unit_of_work(whole_bureau.tenant.id) as session:
            await session.exec(text("UPDATE audit_events SET summary = 'x'"))
    with pytest.raises(DBAPIError):
        async with unit_of_work(whole_bureau.tenant.id) as session:
            await session.exec(text("DELETE FROM audit_events"))
    assert get_engine() is not None
