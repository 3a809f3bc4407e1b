"""`luoshi migrate`: bring the schema to head and (re)create the application role that RLS applies to."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool, text

from backend.config import get_settings
from backend.db import owner_url

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def ensure_app_role() -> None:
    """The app's role may log in but owns nothing, is no superuser and cannot bypass RLS."""
    settings = get_settings()
    role = settings.app_db_role
    engine = create_engine(owner_url(), poolclass=pool.NullPool)
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
        verb = "ALTER" if exists else "CREATE"
        password = settings.app_db_password.replace("'", "''")
        conn.execute(
            text(f'{verb} ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE '
                 f"PASSWORD '{password}'")
        )
        database = conn.execute(text("SELECT current_database()")).scalar()
        for statement in (
            f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"',
            f'GRANT USAGE ON SCHEMA public TO "{role}"',
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
            f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
            f'REVOKE ALL ON alembic_version FROM "{role}"',
            f'REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM "{role}"',
        ):
            conn.execute(text(statement))
    engine.dispose()


def migrate() -> None:
    command.upgrade(alembic_config(), "head")
    ensure_app_role()
