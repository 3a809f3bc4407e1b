"""`luoshi backup` and `luoshi restore`: the database and the stored files in one archive, consistent with each other.

The archive is one uncompressed tar (the dump is compressed already, and so are most photos and documents):

    manifest.json                        first: format, Luoshi version, Alembic revision, time, the row count of
                                         every table, the dump's and every file's SHA-256 and size
    database.dump                        `pg_dump --format=custom`, run as the schema owner (DATABASE_URL)
    files/<bureau>/<sha[:2]>/<sha256>    every file that a `stored_files` row in the dump points at

Consistency. Backup opens one REPEATABLE READ transaction as the owner, exports its snapshot and has pg_dump dump
exactly that snapshot (`pg_dump --snapshot`); the row counts and the list of stored files are read in the same
transaction. So the dump, the counts and the file list describe one instant, and the app may keep running. The
files are taken AFTER the dump: they are content-addressed and never rewritten or deleted, so every file the dump
points at already exists and cannot change, and a file uploaded after the snapshot is not needed (its row is not
in the dump). Each file is hashed on its way into the archive and must equal its name; a missing or damaged file
stops the backup. The archive is written as `<name>.partial` (mode 0600: it holds every bureau's evidence) and
renamed only when complete, so a failed backup leaves nothing that looks like a backup.

Files are read and written through the storage interface (`backend.files.storage`), so this works for local disk
and for S3 alike: the list comes from `stored_files`, no bucket listing is needed.

`luoshi restore` (backend/ops/restore.py) takes the archive back into an empty system.
"""

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, BinaryIO

import psycopg
from psycopg import sql
from psycopg.abc import Query

from backend.core import clock
from backend.db import owner_url
from backend.errors import DomainError
from backend.files import storage
from backend.i18n import _

FORMAT = "luoshi-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
SHA256 = re.compile(r"^[0-9a-f]{64}$")

Say = Callable[[str], None]


def print_line(text: str) -> None:
    print(text, flush=True)


class BackupError(DomainError):
    """A refusal or failure, with a message for the operator saying what (if anything) was changed."""


# --- shared ------------------------------------------------------------------------------------------------------


def libpq() -> tuple[str, str | None]:
    """The owner's connection string for libpq tools (SQLAlchemy's driver name dropped) and its password apart,
    so it goes to pg_dump through PGPASSWORD rather than the process list."""
    try:
        url = owner_url()
    except RuntimeError:
        raise BackupError(_("没有设置 DATABASE_URL（数据库所有者的连接地址）。")) from None
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), url.password


def tool_env(password: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = password
    return env


def connect_owner(*, autocommit: bool = False) -> psycopg.Connection:
    conninfo, password = libpq()
    try:
        return psycopg.connect(conninfo, password=password, autocommit=autocommit, connect_timeout=15)
    except psycopg.Error as error:
        raise BackupError(_("无法以所有者身份连接数据库（DATABASE_URL）：%(error)s",
                            error=str(error).strip())) from None


def client_tool(name: str) -> tuple[str, int]:
    """The PostgreSQL client program and its major version."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(_("找不到 %(tool)s 命令。请安装与数据库服务器同一大版本的 PostgreSQL 客户端"
                            "（Debian/Ubuntu 上例如 postgresql-client-15），并确认它在 PATH 中。", tool=name))
    output = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout  # noqa: S603
    found = re.search(r"\(PostgreSQL\)\s+(\d+)", output) or re.search(r"(\d+)", output)
    if found is None:
        raise BackupError(_("无法识别 %(tool)s 的版本：%(output)s", tool=name, output=output.strip()))
    return path, int(found.group(1))


def table_names(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
    ).fetchall()
    return [row[0] for row in rows]


def scalar(conn: psycopg.Connection, query: Query) -> Any:
    """The value of a query that always returns one row (an aggregate or a function call)."""
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def row_counts(conn: psycopg.Connection) -> dict[str, int]:
    return {
        table: scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        for table in table_names(conn)
    }


def alembic_revision(conn: psycopg.Connection) -> str | None:
    if scalar(conn, "SELECT to_regclass('public.alembic_version')") is None:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def manifest_checksum(manifest: dict) -> str:
    """The SHA-256 of the manifest's canonical JSON without its own checksum: a damaged manifest is found first."""
    rest = {key: value for key, value in manifest.items() if key != "checksum"}
    canonical = json.dumps(rest, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def member_name(tenant_id: str, sha256: str) -> str:
    return f"files/{tenant_id}/{sha256[:2]}/{sha256}"


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f}"


class Hashing:
    """A read-only stream that hashes and counts what passes through it."""

    def __init__(self, body: IO[bytes]) -> None:
        self.body = body
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self.body.read(n)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


def copy_hashing(source: IO[bytes], target: IO[bytes]) -> tuple[str, int]:
    reader = Hashing(source)
    while chunk := reader.read(storage.CHUNK):
        target.write(chunk)
    return reader.digest.hexdigest(), reader.size


# --- backup ------------------------------------------------------------------------------------------------------


def _luoshi_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("luoshi")
    except PackageNotFoundError:
        return "unknown"


def _archive_path(out: Path) -> Path:
    if out.is_dir():
        out = out / f"luoshi-backup-{clock.now():%Y%m%dT%H%M%SZ}.tar"
    if out.exists():
        raise BackupError(_("%(path)s 已存在；备份不会覆盖已有文件，请换一个文件名或给出一个目录。", path=out))
    if not out.parent.is_dir():
        raise BackupError(_("目录 %(path)s 不存在（或不是目录），无法写入备份。", path=out.parent))
    return out


def backup(out: Path, *, say: Say = print_line) -> Path:
    """Writes the archive (see the module's docstring) and returns its path."""
    pg_dump, dump_major = client_tool("pg_dump")
    target = _archive_path(out)
    partial = target.with_name(target.name + ".partial")
    dump_path = target.with_name("." + target.name + ".dump-partial")
    try:
        handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(_("%(path)s 已存在：另一次备份正在进行，或上次备份中断后留下了它（确认后删除即可）。",
                            path=partial)) from None
    except OSError as error:
        raise BackupError(_("无法写入 %(path)s：%(reason)s", path=partial, reason=error.strerror)) from None
    try:
        with os.fdopen(handle, "wb") as raw:
            manifest = _dump(pg_dump, dump_major, dump_path, say)
            _write_archive(raw, manifest, dump_path, say)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        dump_path.unlink(missing_ok=True)
    size = target.stat().st_size
    say(_("备份完成：%(path)s（%(mb)s MB；%(tables)s 张表，%(rows)s 行；%(files)s 个文件）。", path=target,
          mb=_megabytes(size), tables=len(manifest["tables"]), rows=sum(manifest["tables"].values()),
          files=len(manifest["files"])))
    return target


def _dump(pg_dump: str, dump_major: int, dump_path: Path, say: Say) -> dict:
    """pg_dump of one exported snapshot, and in the same snapshot the row counts and the stored files."""
    conninfo, password = libpq()
    with connect_owner() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        server_version = conn.info.server_version
        server_major = server_version // 10000
        if dump_major < server_major:
            raise BackupError(_("pg_dump 的版本（%(tool)s）低于数据库服务器（%(server)s），无法导出。请安装 "
                                "postgresql-client-%(server)s 或更新的版本。", tool=dump_major, server=server_major))
        # The snapshot must outlive the wait for pg_dump to import it, whatever the server's timeouts say.
        conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        conn.execute("SET LOCAL statement_timeout = 0")
        snapshot = scalar(conn, "SELECT pg_export_snapshot()")
        revision = alembic_revision(conn)
        if revision is None:
            raise BackupError(_("这个数据库还没有迁移（没有 alembic_version 表），不像落实的数据库："
                                "请检查 DATABASE_URL。"))
        say(_("正在导出数据库（pg_dump）…"))
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(  # noqa: S603 — fixed arguments, no shell
                [pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={dump_path}",
                 f"--dbname={conninfo}"],
                stdout=subprocess.DEVNULL, stderr=errors, env=tool_env(password),
            )
            try:
                counts = row_counts(conn)
                files = conn.execute("SELECT tenant_id::text, sha256, size FROM stored_files "
                                     "ORDER BY tenant_id, sha256").fetchall()
            finally:
                code = process.wait()
            errors.seek(0)
            message = errors.read().decode("utf-8", "replace").strip()
        conn.rollback()
    if code != 0:
        raise BackupError(_("pg_dump 失败（退出码 %(code)s）：%(message)s", code=code, message=message[-2000:]))
    digest = hashlib.sha256()
    with dump_path.open("rb") as dumped:
        while chunk := dumped.read(storage.CHUNK):
            digest.update(chunk)
    say(_("数据库已导出：%(tables)s 张表，%(rows)s 行，%(mb)s MB。", tables=len(counts), rows=sum(counts.values()),
          mb=_megabytes(dump_path.stat().st_size)))
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "luoshi_version": _luoshi_version(),
        "alembic_revision": revision,
        "created_at": clock.now().isoformat(timespec="seconds"),
        "database": {"member": DUMP, "sha256": digest.hexdigest(), "size": dump_path.stat().st_size,
                     "server_version": server_version, "pg_dump_major": dump_major},
        "storage": storage.backend().name,
        "tables": counts,
        "files": [{"tenant_id": tenant_id, "sha256": sha, "size": size} for tenant_id, sha, size in files],
    }


def _write_archive(raw: BinaryIO, manifest: dict, dump_path: Path, say: Say) -> None:
    now = time.time()

    def entry(name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, now, 0o600
        return info

    chosen = storage.backend()
    files = manifest["files"]
    total = sum(item["size"] for item in files)
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        manifest["checksum"] = manifest_checksum(manifest)
        encoded = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        tar.addfile(entry(MANIFEST, len(encoded)), io.BytesIO(encoded))
        with dump_path.open("rb") as dumped:
            tar.addfile(entry(DUMP, manifest["database"]["size"]), dumped)
        say(_("正在复制 %(n)s 个文件（%(mb)s MB，%(backend)s 存储）…", n=len(files), mb=_megabytes(total),
              backend=chosen.name))
        step = max(1, len(files) // 10)
        for index, item in enumerate(files, start=1):
            _add_stored(tar, chosen, entry(member_name(item["tenant_id"], item["sha256"]), item["size"]), item)
            if index % step == 0 or index == len(files):
                say(_("  已复制 %(i)s/%(n)s 个文件", i=index, n=len(files)))


def _add_stored(tar: tarfile.TarFile, chosen: storage.Backend, info: tarfile.TarInfo, item: dict) -> None:
    tenant_id, sha = uuid.UUID(item["tenant_id"]), item["sha256"]
    try:
        body = chosen.open(tenant_id, sha)
    except FileNotFoundError:
        raise BackupError(_("存储中缺少文件 %(bureau)s/%(sha)s（数据库里有它的记录）。备份已停止：请先查明原因，"
                            "例如从旧备份中取回这个文件。", bureau=tenant_id, sha=sha)) from None
    except Exception as error:  # an unreachable S3 endpoint, wrong credentials
        raise BackupError(_("无法从文件存储（%(backend)s）读取：%(error)s", backend=chosen.name, error=error)) from None
    with body:
        reader = Hashing(body)
        try:
            tar.addfile(info, reader)
        except OSError:  # shorter than its row says
            reader.size = -1
    if reader.size != item["size"] or reader.digest.hexdigest() != sha:
        raise BackupError(_("存储中的文件 %(bureau)s/%(sha)s 已损坏（内容与其 SHA-256 不符）。备份已停止：请从旧备份中"
                            "取回这个文件。", bureau=tenant_id, sha=sha))
