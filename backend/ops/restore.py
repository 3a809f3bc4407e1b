"""`luoshi restore`: an archive of `luoshi backup` (see backend/ops/backup.py) back into an EMPTY system.

Restore goes into an EMPTY system only: a database without Luoshi rows (one that `luoshi migrate` has just set up,
at the backup's revision, counts as empty) and storage that may already hold some of the same content. In order:

1. The manifest is read (its own checksum must match) and the target is checked: it must be empty, the backup's
   migration must be known to this version, pg_restore new enough, the storage writable. Any refusal changes
   nothing.
2. Every member of the archive is read and hashed before anything is written; a damaged or truncated archive is
   refused here. The dump is set aside in a temporary folder (TMPDIR).
3. The files go into storage (through the storage interface, so local disk or S3), hashed again on the way. They
   go BEFORE the database, the same rule as in backup: no restored row ever points at a missing file, and a restore
   stopped here (a full disk, say) changed no row and can simply be run again.
4. pg_restore runs as the owner in ONE transaction (`--single-transaction --exit-on-error`), so it restores all or
   nothing, without the source's owner and grants (`--no-owner --no-privileges`): the restoring owner owns
   everything, and `ensure_app_role()` then grants the RLS-bound application role of THIS system, whatever it is
   called (the role is cluster-wide and may exist already).
5. Every table's row count is compared with the manifest and every file is read back from storage and hashed.

Refusals raise `BackupError` (exit code 2); a restore that ran but does not match is reported by `restore()`
returning the differences (exit code 1).
"""

import json
import os
import subprocess
import tarfile
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from backend.files import storage
from backend.i18n import _
from backend.ops.backup import (
    DUMP,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    SHA256,
    BackupError,
    Hashing,
    Say,
    alembic_revision,
    client_tool,
    connect_owner,
    copy_hashing,
    libpq,
    manifest_checksum,
    member_name,
    print_line,
    row_counts,
    scalar,
    table_names,
    tool_env,
)


@dataclass
class _Checked:
    manifest: dict
    members: dict[str, tarfile.TarInfo]


def restore(archive: Path, *, say: Say = print_line) -> list[str]:
    """Restores the archive into this (empty) system; returns the differences found afterwards (none: all equal)."""
    pg_restore, restore_major = client_tool("pg_restore")
    with _open_archive(archive) as tar:
        manifest = _read_manifest(tar)
        say(_("备份：落实 %(version)s，迁移版本 %(revision)s，%(time)s；"
              "%(tables)s 张表，%(rows)s 行，%(files)s 个文件。",
              version=manifest["luoshi_version"], revision=manifest["alembic_revision"],
              time=manifest["created_at"], tables=len(manifest["tables"]), rows=sum(manifest["tables"].values()),
              files=len(manifest["files"])))
        if restore_major < manifest["database"]["pg_dump_major"]:
            raise BackupError(_("pg_restore 的版本（%(tool)s）低于写出备份的 pg_dump（%(dump)s），无法读取。请安装 "
                                "postgresql-client-%(dump)s 或更新的版本。", tool=restore_major,
                                dump=manifest["database"]["pg_dump_major"]))
        at_head = _refuse_unknown_revision(manifest["alembic_revision"])
        clean = _refuse_unless_empty(manifest["alembic_revision"])
        _check_storage()
        say(_("正在核对备份内容（每个文件的 SHA-256）…"))
        with tempfile.TemporaryDirectory(prefix="luoshi-restore-") as folder:
            dump_path = Path(folder) / DUMP
            checked = _verify(tar, manifest, dump_path)
            _put_files(tar, checked, say)
            say(_("正在恢复数据库（pg_restore，单个事务）…"))
            _pg_restore(pg_restore, dump_path, clean=clean)
    say(_("正在为应用角色授权…"))
    _grant()
    differences = _compare(manifest, say)
    if not at_head:
        say(_("备份来自较早的落实版本：请再运行 luoshi migrate，把数据库升级到当前版本。"))
    return differences


def _open_archive(archive: Path) -> tarfile.TarFile:
    if not archive.is_file():
        raise BackupError(_("找不到备份文件 %(path)s。", path=archive))
    try:
        return tarfile.open(archive, mode="r:")
    except (tarfile.TarError, OSError):
        raise BackupError(_("%(path)s 不是落实的备份归档（无法按 tar 读取），或已损坏。", path=archive)) from None


def _damaged(detail: str) -> BackupError:
    return BackupError(_("备份文件已损坏，未作任何恢复：%(detail)s", detail=detail))


def _require(condition: bool) -> None:
    if not condition:
        raise ValueError("manifest")


def _read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        first = tar.next()
        if first is None or first.name != MANIFEST or not first.isfile():
            raise _damaged(_("缺少 manifest.json。"))
        manifest = json.loads(tar.extractfile(first).read())  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, ValueError):
        raise _damaged(_("manifest.json 无法读取。")) from None
    try:
        _require(manifest["format"] == FORMAT and manifest.get("checksum") == manifest_checksum(manifest))
        if manifest["format_version"] > FORMAT_VERSION:
            raise BackupError(_("这份备份的格式（第 %(v)s 版）比本版本的落实更新，请先升级落实。",
                                v=manifest["format_version"]))
        _require(all(isinstance(manifest[key], str) for key in ("alembic_revision", "luoshi_version", "created_at")))
        _require(all(isinstance(k, str) and isinstance(v, int) for k, v in manifest["tables"].items()))
        database = manifest["database"]
        _require(database["member"] == DUMP and SHA256.match(database["sha256"]) is not None)
        _require(isinstance(database["size"], int) and isinstance(database["pg_dump_major"], int))
        for item in manifest["files"]:
            uuid.UUID(item["tenant_id"])
            _require(SHA256.match(item["sha256"]) is not None and isinstance(item["size"], int) and item["size"] >= 0)
    except BackupError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError):
        raise _damaged(_("manifest.json 的内容不完整或已被改动。")) from None
    return manifest


def _refuse_unknown_revision(revision: str) -> bool:
    """Refuses a backup from a newer Luoshi; True when the backup is at this version's head."""
    from alembic.script import ScriptDirectory

    from backend.core.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    try:
        if script.get_revision(revision) is None:
            raise LookupError(revision)
    except Exception:
        raise BackupError(_("备份来自更新的落实版本（迁移 %(revision)s 本版本不认识）。请先把落实升级到不低于"
                            "备份时的版本再恢复。", revision=revision)) from None
    return revision in script.get_heads()


def _refuse_unless_empty(revision: str) -> bool:
    """Refuses a target with Luoshi rows; True when it has the (empty) tables already, which the restore replaces."""
    with connect_owner(autocommit=True) as conn:
        tables = table_names(conn)
        filled = [
            table for table in tables
            if table != "alembic_version"
            and scalar(conn, sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table)))
        ]
        if filled:
            raise BackupError(_("目标数据库不是空的：%(tables)s 等 %(n)s 张表已有数据。恢复只写入全新的空系统，不会覆盖"
                                "现有数据；请新建一个空数据库（CREATE DATABASE …），把 DATABASE_URL 指向它后再运行。",
                                tables="、".join(filled[:5]), n=len(filled)))
        if not tables:
            return False
        found = alembic_revision(conn)
        if found != revision:
            raise BackupError(_("目标数据库已有落实的表（迁移版本 %(found)s），与备份（%(revision)s）不同。请恢复到"
                                "全新的空数据库，恢复后再运行 luoshi migrate。", found=found or "—", revision=revision))
        return True


def _verify(tar: tarfile.TarFile, manifest: dict, dump_path: Path) -> _Checked:
    """Reads every member once: each must be expected, complete and equal to its hash. The dump is kept aside."""
    expected = {DUMP: (manifest["database"]["sha256"], manifest["database"]["size"])}
    expected |= {member_name(f["tenant_id"], f["sha256"]): (f["sha256"], f["size"]) for f in manifest["files"]}
    members: dict[str, tarfile.TarInfo] = {}
    try:
        for member in tar:
            if member.name == MANIFEST and member.offset == 0:
                continue  # read already
            if member.name not in expected or member.name in members or not member.isfile():
                raise _damaged(_("其中有清单以外的内容：%(name)s", name=member.name))
            sha, size = expected[member.name]
            source = tar.extractfile(member)
            if source is None:
                raise _damaged(member.name)
            if member.name == DUMP:
                with dump_path.open("wb") as out:
                    found = copy_hashing(source, out)
            else:
                reader = Hashing(source)
                while reader.read(storage.CHUNK):
                    pass
                found = (reader.digest.hexdigest(), reader.size)
            if found != (sha, size):
                raise _damaged(_("%(name)s 的内容与清单中的 SHA-256 不符。", name=member.name))
            members[member.name] = member
    except (tarfile.TarError, EOFError):
        raise _damaged(_("归档不完整（可能被截断）。")) from None
    except OSError as error:  # reading the archive, or writing the dump aside (TMPDIR full?)
        raise BackupError(_("无法读取备份或写入临时目录（%(folder)s）：%(reason)s，未作任何恢复。",
                            folder=dump_path.parent, reason=error.strerror or error)) from None
    missing = [name for name in expected if name not in members]
    if missing:
        raise _damaged(_("缺少 %(n)s 项内容，例如 %(name)s。", n=len(missing), name=missing[0]))
    return _Checked(manifest, members)


def _pg_restore(pg_restore: str, dump_path: Path, *, clean: bool) -> None:
    conninfo, password = libpq()
    command = [pg_restore, "--no-password", "--no-owner", "--no-privileges", "--single-transaction",
               "--exit-on-error", f"--dbname={conninfo}"]
    if clean:
        command += ["--clean", "--if-exists"]
    result = subprocess.run([*command, str(dump_path)], capture_output=True, text=True, env=tool_env(password),  # noqa: S603
                            check=False)
    if result.returncode != 0:
        raise BackupError(_("pg_restore 失败（退出码 %(code)s），数据库未作改动（恢复在一个事务中进行）：%(message)s",
                            code=result.returncode, message=result.stderr.strip()[-2000:]))


def _check_storage() -> None:
    """Refuses storage this process cannot write (local) or reach (S3) before anything is restored."""
    chosen = storage.backend()
    try:
        handle, name = tempfile.mkstemp(dir=storage.root(), prefix=".restore-check-")
        os.close(handle)
        Path(name).unlink()
        chosen.exists(uuid.UUID(int=0), "0" * 64)
    except Exception as error:
        raise BackupError(_("无法写入文件存储（%(backend)s）：%(error)s", backend=chosen.name, error=error)) from None


def _grant() -> None:
    from backend.core.migrate import ensure_app_role

    try:
        ensure_app_role()
    except Exception as error:
        raise BackupError(_("数据库已恢复，但为应用角色授权失败：%(error)s。排除原因后运行 luoshi migrate 即可补上"
                            "授权。", error=error)) from None


def _put_files(tar: tarfile.TarFile, checked: _Checked, say: Say) -> None:
    """Files go back before the database, so no restored row ever points at a missing file, and a restore stopped
    here (storage full, say) changed no row and can simply be run again: content already in place is skipped."""
    chosen = storage.backend()
    files = checked.manifest["files"]
    say(_("备份完好。正在把 %(n)s 个文件放回存储（%(backend)s）…", n=len(files), backend=chosen.name))
    step = max(1, len(files) // 10)
    for index, item in enumerate(files, start=1):
        try:
            _put_one(tar, chosen, checked.members[member_name(item["tenant_id"], item["sha256"])], item)
        except BackupError:
            raise
        except tarfile.TarError:
            raise _damaged(_("归档不完整（可能被截断）。")) from None
        except Exception as error:  # a full disk, an unreachable bucket
            raise BackupError(_("把文件放回存储（%(backend)s）时出错：%(error)s。数据库还没有恢复；排除原因后重新运行"
                                "即可，已放回的文件会跳过。", backend=chosen.name, error=error)) from None
        if index % step == 0 or index == len(files):
            say(_("  已放回 %(i)s/%(n)s 个文件", i=index, n=len(files)))


def _put_one(tar: tarfile.TarFile, chosen: storage.Backend, member: tarfile.TarInfo, item: dict) -> None:
    tenant_id = uuid.UUID(item["tenant_id"])
    if chosen.exists(tenant_id, item["sha256"]):
        return
    handle, name = tempfile.mkstemp(dir=storage.root(), prefix=".restore-")
    try:
        with os.fdopen(handle, "wb") as out:
            found = copy_hashing(tar.extractfile(member), out)  # type: ignore[arg-type]
        if found != (item["sha256"], item["size"]):  # read again: the archive may have changed meanwhile
            raise _damaged(_("%(name)s 的内容与清单中的 SHA-256 不符。", name=member.name))
        chosen.put(tenant_id, storage.StagedContent(Path(name), item["sha256"], item["size"], b""))
    finally:
        Path(name).unlink(missing_ok=True)


def _compare(manifest: dict, say: Say) -> list[str]:
    """Row counts of every table and every file read back from storage, against the manifest."""
    differences: list[str] = []
    with connect_owner(autocommit=True) as conn:
        counts = row_counts(conn)
    for table in sorted(set(counts) | set(manifest["tables"])):
        want, got = manifest["tables"].get(table), counts.get(table)
        if want != got:
            differences.append(_("表 %(table)s：备份中 %(want)s 行，恢复后 %(got)s 行", table=table,
                                 want="—" if want is None else want, got="—" if got is None else got))
    chosen = storage.backend()
    for item in manifest["files"]:  # read back through the storage: present, and equal to its hash
        try:
            with chosen.open(uuid.UUID(item["tenant_id"]), item["sha256"]) as body:
                reader = Hashing(body)
                while reader.read(storage.CHUNK):
                    pass
            intact = (reader.digest.hexdigest(), reader.size) == (item["sha256"], item["size"])
        except FileNotFoundError:
            intact = False
        if not intact:
            differences.append(_("文件 %(bureau)s/%(sha)s 不在存储中或内容不符", bureau=item["tenant_id"],
                                 sha=item["sha256"]))
    if differences:
        for line in differences:
            say("  ✗ " + line)
        say(_("恢复后核对发现 %(n)s 处不一致（见上）。", n=len(differences)))
    else:
        say(_("恢复完成：%(tables)s 张表的行数与备份一致（共 %(rows)s 行），%(files)s 个文件已放回并核对。",
              tables=len(counts), rows=sum(counts.values()),
              files=len(manifest["files"])))
    return differences
