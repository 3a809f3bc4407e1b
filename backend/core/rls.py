"""Row-level security DDL, shared by every migration that adds a tenant table.

The policy compares each row's tenant_id with the transaction's `app.tenant_id` (set by backend.db); with no
tenant set, a tenant table shows no rows at all.
"""

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def enable_tenant_rls_sql(table: str, *, platform_rows: bool = False) -> list[str]:
    """Statements that put `table` under RLS. `platform_rows` also admits tenant-less rows written outside
    any tenant (the audit log's platform events), which no tenant can read."""
    check = f"tenant_id = {CURRENT_TENANT}"
    if platform_rows:
        check = f"({check}) OR (tenant_id IS NULL AND {CURRENT_TENANT} IS NULL)"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {CURRENT_TENANT}) WITH CHECK ({check})",
    ]
