"""`luoshi backup` and `luoshi restore`, run as an operator would: a bureau taken once round the loop is backed up,
restored into a new empty database and data folder, and found equal — every table's rows, every file's SHA-256,
and the application role reading its bureau under row-level security. Non-empty targets and damaged archives are
refused and change nothing.

The source is a database of its own, not the run's shared one: other tests keep their files in their own temporary
folders or in moto's buckets, and a backup rightly refuses rows whose file it cannot find."""

import hashlib
import json
import os
import socket
import subprocess
import sys
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import psycopg
import pytest
from botocore.config import Config
from sqlalchemy.engine import make_url

from backend.config import get_settings
from backend.core.migrate import migrate
from backend.db import dispose_engine
from backend.ops.backup import BackupError, backup
from backend.ops.restore import restore
from tests.support.cluster import app_role_turn
from tests.support.fixtures import create_bureau

ROOT = Path(__file__).resolve().parents[2]


def _url(database: str) -> str:
    """The run's server (the owner's URL in the environment, set by tests/conftest.py), another database."""
    base = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql", database=database)
    return base.render_as_string(hide_password=False)


def _create_database(name: str) -> str:
    with psycopg.connect(_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return _url(name)


def _drop_database(name: str) -> None:
    with psycopg.connect(_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def luoshi(*args: str, database: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database, "LUOSHI_DATA_DIR": str(data_dir), "LUOSHI_STORAGE": "local",
                   **env}
    with app_role_turn():
        return subprocess.run([sys.executable, "-m", "backend.cli", *args], capture_output=True, text=True, cwd=ROOT,
                              env=environment, timeout=300, check=False)


def _counts(url: str) -> dict[str, int]:
    """Every table's row count, the tables taken from information_schema."""
    with psycopg.connect(url) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name")]
        return {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


def _stored_files(url: str) -> list[tuple[uuid.UUID, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT tenant_id, sha256 FROM stored_files ORDER BY sha256").fetchall()


def _manifest(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.loads(tar.extractfile("manifest.json").read())


@dataclass
class System:
    url: str
    data_dir: Path


@dataclass
class Source(System):
    tenant_id: uuid.UUID


@pytest.fixture(scope="module")
async def source(tmp_path_factory):
    """Its own database, migrated, with one bureau taken round the whole loop (rows in every table, evidence)."""
    name = f"luoshi_backup_src_{os.getpid()}"
    url = _create_database(name)
    data_dir = tmp_path_factory.mktemp("source-data")
    settings = get_settings()
    saved = {key: getattr(settings, key) for key in ("database_url", "data_dir", "storage")}
    await dispose_engine()
    for key, value in {"database_url": url, "data_dir": data_dir, "storage": "local"}.items():
        setattr(settings, key, value)
    try:
        with app_role_turn():
            migrate()
        bureau = await create_bureau(whole_loop=True)
    finally:
        await dispose_engine()
        for key, value in saved.items():
            setattr(settings, key, value)
    yield Source(url, data_dir, bureau.tenant.id)
    _drop_database(name)


@pytest.fixture(scope="module")
def archive(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("backup") / "luoshi.tar"
    made = luoshi("backup", "--out", str(out), database=source.url, data_dir=source.data_dir)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "正在导出数据库" in made.stdout and "备份完成" in made.stdout
    assert oct(out.stat().st_mode & 0o777) == oct(0o600), "the archive holds every bureau's evidence"
    assert not list(out.parent.glob("*partial*"))
    return out


@pytest.fixture
def target(tmp_path):
    """A new, empty database and data folder on the same server."""
    name = f"luoshi_restore_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield System(_create_database(name), tmp_path / "restored-data")
    _drop_database(name)


def test_round_trip_restores_every_row_and_file(source, archive, target):
    source_counts = _counts(source.url)
    manifest = _manifest(archive)
    assert manifest["tables"] == source_counts
    assert manifest["alembic_revision"] and manifest["luoshi_version"]

    restored = luoshi("restore", "--from", str(archive), database=target.url, data_dir=target.data_dir)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "恢复完成" in restored.stdout

    assert _counts(target.url) == source_counts
    assert source_counts["evidence"] > 0 and source_counts["audit_events"] > 0
    files = _stored_files(source.url)
    assert files and _stored_files(target.url) == files
    for tenant_id, sha in files:
        path = target.data_dir / "files" / str(tenant_id) / sha[:2] / sha
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha

    # The restored system's application role works, and row-level security binds it.
    with psycopg.connect(source.url) as conn:
        tasks = conn.execute("SELECT count(*) FROM tasks WHERE tenant_id = %s", [source.tenant_id]).fetchone()[0]
    app = make_url(target.url).set(username=get_settings().app_db_role, password=get_settings().app_db_password)
    with psycopg.connect(app.render_as_string(hide_password=False)) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0  # no bureau set: no rows
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(uuid.uuid4())])
        assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(source.tenant_id)])
        assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == tasks > 0
        assert conn.execute("SELECT count(*) FROM evidence").fetchone()[0] == source_counts["evidence"]

    # A system with rows is never overwritten.
    again = luoshi("restore", "--from", str(archive), database=target.url, data_dir=target.data_dir)
    assert again.returncode == 2
    assert "目标数据库不是空的" in again.stderr
    assert _counts(target.url) == source_counts


def _flip_byte_in_a_file(archive: Path, copy: Path) -> None:
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("files/"))
    data = bytearray(archive.read_bytes())
    data[member.offset_data] ^= 0xFF
    copy.write_bytes(bytes(data))


def test_damaged_archives_are_refused_and_change_nothing(archive, target, tmp_path, monkeypatch):
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    refused = luoshi("restore", "--from", str(truncated), database=target.url, data_dir=target.data_dir)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "备份文件已损坏，未作任何恢复：归档不完整" in refused.stderr

    flipped = tmp_path / "flipped.tar"
    _flip_byte_in_a_file(archive, flipped)
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"not a tar at all\n" * 100)
    no_manifest = tmp_path / "no-manifest.tar"
    with tarfile.open(no_manifest, "w") as tar:
        tar.add(archive, arcname="database.dump")
    monkeypatch.setattr(get_settings(), "database_url", target.url)  # the rest in this process: quicker
    monkeypatch.setattr(get_settings(), "data_dir", target.data_dir)
    for damaged, message in ((flipped, "SHA-256 不符"), (garbage, "不是落实的备份归档"),
                             (no_manifest, "缺少 manifest.json"), (tmp_path / "missing.tar", "找不到备份文件")):
        with pytest.raises(BackupError, match=message):
            restore(damaged, say=lambda _line: None)
    assert _counts(target.url) == {}
    assert not [path for path in target.data_dir.rglob("*") if path.is_file()]


def test_backup_refuses_clearly_and_leaves_nothing(source, archive, tmp_path, monkeypatch):
    no_tools = tmp_path / "empty-path"
    no_tools.mkdir()
    out = tmp_path / "out.tar"
    missing = luoshi("backup", "--out", str(out), database=source.url, data_dir=source.data_dir, PATH=str(no_tools))
    assert missing.returncode == 2 and "找不到 pg_dump 命令" in missing.stderr

    monkeypatch.setattr(get_settings(), "database_url", source.url)
    monkeypatch.setattr(get_settings(), "data_dir", source.data_dir)
    with pytest.raises(BackupError, match="不存在"):
        backup(tmp_path / "no-such-folder" / "out.tar", say=lambda _line: None)
    with pytest.raises(BackupError, match="不会覆盖"):
        backup(archive, say=lambda _line: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty-path"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def s3_env():
    """An S3-compatible store (moto's server on a free local port) with a fresh bucket, as LUOSHI_S3_* settings."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint, bucket = f"http://127.0.0.1:{port}", f"luoshi-restore-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test-access",
                          aws_secret_access_key="test-secret", region_name="us-east-1",
                          config=Config(s3={"addressing_style": "path"}))
    client.create_bucket(Bucket=bucket)
    yield client, bucket, {"LUOSHI_STORAGE": "s3", "LUOSHI_S3_ENDPOINT": endpoint, "LUOSHI_S3_BUCKET": bucket,
                           "LUOSHI_S3_ACCESS_KEY": "test-access", "LUOSHI_S3_SECRET_KEY": "test-secret"}
    server.stop()


def test_restore_into_a_migrated_system_on_s3_and_back_up_from_it(source, archive, target, s3_env, tmp_path):
    """The other way operators go: `luoshi migrate` first (empty tables are empty), files kept in S3."""
    client, bucket, env = s3_env
    migrated = luoshi("migrate", database=target.url, data_dir=target.data_dir, **env)
    assert migrated.returncode == 0, migrated.stderr
    restored = luoshi("restore", "--from", str(archive), database=target.url, data_dir=target.data_dir, **env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert _counts(target.url) == _counts(source.url)
    for tenant_id, sha in _stored_files(source.url):
        body = client.get_object(Bucket=bucket, Key=f"{tenant_id}/{sha[:2]}/{sha}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == sha

    again = tmp_path / "from-s3.tar"
    made = luoshi("backup", "--out", str(again), database=target.url, data_dir=target.data_dir, **env)
    assert made.returncode == 0, made.stdout + made.stderr
    first, second = _manifest(archive), _manifest(again)
    assert second["storage"] == "s3"
    assert (second["tables"], second["files"]) == (first["tables"], first["files"])
