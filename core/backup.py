"""Backup and restore (R-OPS-1; issue 13 item 4): the database and the stored files in one archive.

An archive is ``releasedesk-backup-YYYYMMDD-HHMMSS.tar.gz`` (site time) holding

* ``database/postgresql.dump`` (``pg_dump --format=custom``) or ``database/sqlite3.db`` (SQLite's
  online-backup API, a consistent copy while the site runs);
* ``media/…`` — every stored file under ``MEDIA_ROOT`` (issued PDFs, raw data);
* ``manifest.json`` — the SHA-256 and size of every other member, the database vendor and tool
  version, the applied migrations, record counts and the signature chain's head, sealed with an
  HMAC under the signature key (``core.keys``), so an archive edited together with its manifest
  is refused too.

The database is dumped first, the files second: a file is written before its ``Document`` row
(``core.pdf.issue_document``), so every file a dumped row names is in the archive.

``restore_backup`` checks everything before it touches anything: the seal, each member's hash
(naming the first that differs), no member missing or added; then it restores into an empty
database and an empty ``MEDIA_ROOT`` (``force=True`` to overwrite), re-hashes each restored
file, re-creates any missing append-only trigger and reports what it found.
"""

from __future__ import annotations

import getpass
import hashlib
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from core import keys, storage
from core.hashing import sha256_chunks

FORMAT = 1
PREFIX = "releasedesk-backup-"
SUFFIX = ".tar.gz"
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024
DATABASE_MEMBERS = {"postgresql": "database/postgresql.dump", "sqlite": "database/sqlite3.db"}


class BackupError(Exception):
    """A backup or restore refused, with the reason an operator can act on."""


# --- helpers -----------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _major(version_text: str) -> int:
    """15 from ``pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)``."""
    match = re.search(r"\)\s*(\d+)", version_text) or re.search(r"(\d+)", version_text)
    if not match:
        raise BackupError(f"Cannot read a version number from {version_text!r}.")
    return int(match.group(1))


def _pg_tool(name: str) -> tuple[str, str]:
    """The path and ``--version`` line of pg_dump / pg_restore, or a refusal saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client of the server's version "
            f"(Debian: apt-get install postgresql-client-<version>)."
        )
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    return path, out


def _pg_env(conn) -> dict[str, str]:
    """libpq's environment for the connection's settings (the password never on a command line)."""
    s = conn.settings_dict
    env = {**os.environ}
    for var, value in (
        ("PGHOST", s.get("HOST")),
        ("PGPORT", s.get("PORT")),
        ("PGUSER", s.get("USER")),
        ("PGPASSWORD", s.get("PASSWORD")),
        ("PGDATABASE", s.get("NAME")),
        ("PGSSLMODE", (s.get("OPTIONS") or {}).get("sslmode")),
    ):
        if value:
            env[var] = str(value)
    return env


def _server_major(conn) -> int:
    conn.ensure_connection()
    return conn.pg_version // 10000


def _applied_migrations(conn) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(conn).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


def _counts(conn) -> dict[str, object]:
    """What the restore compares: rows of the records that matter most, and the chain head."""
    with conn.cursor() as cursor:
        out: dict[str, object] = {}
        for label, table in (("signatures", "core_signature"), ("documents", "core_document"), ("users", "core_user")):
            cursor.execute(f"SELECT COUNT(*) FROM {conn.ops.quote_name(table)}")
            out[label] = cursor.fetchone()[0]
        cursor.execute("SELECT id, record_hash FROM core_signature ORDER BY id DESC LIMIT 1")
        row = cursor.fetchone()
        out["chain_head"] = [row[0], row[1]] if row else [None, ""]
    return out


def _seal(manifest: dict) -> str | None:
    body = {k: v for k, v in manifest.items() if k != "seal"}
    return keys.hmac_json(manifest.get("key_id", ""), body)


class _HashingReader(io.RawIOBase):
    """Reads a file for tarfile while hashing exactly the bytes that went into the archive."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.handle.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


def _media_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Every regular file under ``root`` (sorted), with its path relative to ``root`` in POSIX form."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path, path.relative_to(root).as_posix()


# --- backup ------------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    sha256: str
    manifest: dict


def _dump_database(conn, target: Path) -> dict:
    if conn.vendor == "postgresql":
        tool, version = _pg_tool("pg_dump")
        server = _server_major(conn)
        if _major(version) < server:
            raise BackupError(
                f"{version} cannot dump a PostgreSQL {server} server: install pg_dump {server} or newer "
                f"(postgresql-client-{server})."
            )
        _run(
            [tool, "--format=custom", "--no-password", f"--file={target}", conn.settings_dict["NAME"]],
            env=_pg_env(conn),
            what="pg_dump",
        )
        return {"vendor": "postgresql", "server_version": server, "tool": version}
    if conn.vendor == "sqlite":
        name = str(conn.settings_dict["NAME"])
        if not name or name == ":memory:" or name.startswith("file:"):
            raise BackupError("An in-memory SQLite database cannot be backed up: set DATABASE_URL to a file.")
        source = sqlite3.connect(name)
        dest = sqlite3.connect(target)
        try:
            with dest:
                source.backup(dest)  # SQLite's online backup: a consistent copy while writers run
        finally:
            dest.close()
            source.close()
        return {"vendor": "sqlite", "server_version": sqlite3.sqlite_version, "tool": "sqlite3 online backup"}
    raise BackupError(f"Backups of {conn.vendor} databases are not supported (PostgreSQL or SQLite).")


def _run(cmd: list[str], *, env: dict[str, str], what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def storage_label() -> str:
    """Where the stored files live, for the manifest and the command's output."""
    if storage.is_local():
        return f"filesystem {settings.MEDIA_ROOT}"
    options = settings.STORAGES["default"].get("OPTIONS", {})
    where = f"s3://{options.get('bucket_name', '?')}/{options.get('location', '')}".rstrip("/")
    return f"{where} ({options.get('endpoint_url') or 'AWS'})"


def _archive_object_store(archive: tarfile.TarFile, created: datetime) -> list[dict]:
    """Every object of the default storage (an S3 bucket) into the archive, read through the
    storage API and hashed as it goes in; after the database dump, like the local files."""
    entries = []
    for name in storage.walk():
        relative = _safe_member_path(name).as_posix()
        size = default_storage.size(name)
        info = tarfile.TarInfo(f"media/{relative}")
        info.size, info.mtime, info.mode = size, int(created.timestamp()), 0o600
        with default_storage.open(name, "rb") as handle:
            reader = _HashingReader(handle)
            archive.addfile(info, reader)
        if reader.size != size:
            raise BackupError(f"media/{relative} changed while it was being archived: run the backup again.")
        entries.append({"path": f"media/{relative}", "sha256": reader.digest.hexdigest(), "size": size})
    return entries


def create_backup(*, directory: Path | str, using: str = "default", now: datetime | None = None) -> BackupResult:
    """Write one dated archive into ``directory``; returns its path, SHA-256 and manifest."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    conn = connections[using]
    created = timezone.localtime(now or timezone.now())
    final = directory / f"{PREFIX}{created:%Y%m%d-%H%M%S}{SUFFIX}"
    if final.exists():
        raise BackupError(f"{final} already exists: wait a second and run the backup again.")
    partial = final.with_name(final.name + ".partial")
    media_root = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix="releasedesk-backup-", dir=directory) as work:
        db_member = DATABASE_MEMBERS.get(conn.vendor, "database/unknown")
        db_file = Path(work) / PurePosixPath(db_member).name
        # Counted before the dump: rows written in between only add to the dump, so a restore
        # with fewer rows than the manifest says has really lost some.
        counts = _counts(conn)
        migrations = _applied_migrations(conn)
        database = _dump_database(conn, db_file)
        database["migrations"] = migrations
        entries = [{"path": db_member, "sha256": sha256_file(db_file), "size": db_file.stat().st_size}]
        try:
            # Every GMP record is in it, unencrypted: readable by the backup account only.
            partial.touch(mode=0o600)
            with tarfile.open(partial, "w:gz") as archive:
                archive.add(db_file, arcname=db_member, recursive=False)
                if not storage.is_local():
                    entries.extend(_archive_object_store(archive, created))
                for path, relative in _media_files(media_root) if storage.is_local() else ():
                    info = archive.gettarinfo(str(path), arcname=f"media/{relative}")
                    with open(path, "rb") as handle:
                        reader = _HashingReader(handle)
                        archive.addfile(info, reader)
                    if reader.size != info.size:
                        raise BackupError(
                            f"media/{relative} changed while it was being archived: run the backup again."
                        )
                    entries.append(
                        {"path": f"media/{relative}", "sha256": reader.digest.hexdigest(), "size": info.size}
                    )
                manifest = {
                    "format": FORMAT,
                    "application": "Release Desk",
                    "created_at": created.isoformat(),
                    "database": database,
                    "media_root": str(media_root),
                    "storage": storage_label(),
                    "counts": counts,
                    "files": entries,
                    "key_id": keys.current_key_id(),
                }
                manifest["seal"] = _seal(manifest)
                data = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(data), int(created.timestamp()), 0o644
                archive.addfile(info, io.BytesIO(data))
            with open(partial, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, final)  # only a complete archive ever carries the final name
        finally:
            partial.unlink(missing_ok=True)
    return BackupResult(path=final, sha256=sha256_file(final), manifest=manifest)


# --- checking an archive -----------------------------------------------------------------------


@dataclass
class CheckedArchive:
    manifest: dict
    staging: Path
    database_file: Path
    media: list[tuple[str, Path, str]] = field(default_factory=list)  # (relative, staged path, sha256)
    manifest_sha256: str = ""


def _safe_member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"{name}: a path outside the archive; refused.")
    return path


def check_archive(archive_path: Path | str, staging: Path) -> CheckedArchive:
    """Read and verify the whole archive into ``staging``; raises ``BackupError`` naming the
    first member that is altered, missing or not in the manifest."""
    archive_path = Path(archive_path)
    if not archive_path.is_file():
        raise BackupError(f"{archive_path}: no such archive.")
    try:
        archive = tarfile.open(archive_path, "r:gz")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive_path.name}: not a readable backup archive ({exc}).") from None
    with archive:
        try:
            member = archive.getmember(MANIFEST)
            manifest_bytes = archive.extractfile(member).read()
            manifest = json.loads(manifest_bytes)
        except (KeyError, ValueError, AttributeError, tarfile.TarError, EOFError, OSError):
            raise BackupError(f"{archive_path.name}: {MANIFEST} is missing or unreadable; refused.") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BackupError(f"{MANIFEST}: not a Release Desk backup manifest of format {FORMAT}; refused.")
        expected_seal = _seal(manifest)
        if expected_seal is None:
            raise BackupError(
                f"{MANIFEST}: sealed with signature key {manifest.get('key_id')!r}, which this installation "
                "does not have (SIGNATURE_KEY / SIGNATURE_KEYS_OLD): its signatures would not verify either; refused."
            )
        if not keys.equal(expected_seal, manifest.get("seal")):
            raise BackupError(f"{MANIFEST}: its seal does not match (the manifest was altered); refused.")
        listed = {entry["path"]: entry for entry in manifest["files"]}
        vendor = manifest["database"]["vendor"]
        db_member = DATABASE_MEMBERS.get(vendor)
        if db_member not in listed:
            raise BackupError(f"{MANIFEST}: lists no database dump for {vendor}; refused.")
        seen: set[str] = set()
        checked = CheckedArchive(
            manifest=manifest,
            staging=staging,
            database_file=staging / db_member,
            manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        )
        try:
            for info in archive:
                if info.name == MANIFEST:
                    continue
                relative = _safe_member_path(info.name)
                name = relative.as_posix()
                if name not in listed:
                    raise BackupError(f"{name}: in the archive but not in the manifest (added afterwards); refused.")
                if not info.isfile():
                    raise BackupError(f"{name}: not a regular file; refused.")
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with archive.extractfile(info) as source, open(target, "wb") as out:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != listed[name]["sha256"] or info.size != listed[name]["size"]:
                    raise BackupError(f"{name}: its SHA-256 does not match the manifest (altered or damaged); refused.")
                seen.add(name)
                if name.startswith("media/"):
                    checked.media.append((name.removeprefix("media/"), target, listed[name]["sha256"]))
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise BackupError(f"{archive_path.name}: the archive is damaged ({exc}); refused.") from None
        missing = sorted(set(listed) - seen)
        if missing:
            raise BackupError(f"{missing[0]}: listed in the manifest but missing from the archive; refused.")
    return checked


# --- restore -----------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    manifest: dict
    files: int
    counts: dict
    triggers_recreated: list[str]
    pending_migrations: list[str]
    notes: list[str] = field(default_factory=list)
    manifest_sha256: str = ""
    event: str = ""  # the security event recorded in the restored database, as printed


def os_user() -> str:
    """Who ran the command, as the operating system knows them (the restore has no signed-in user)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def record_restore(conn, *, archive_name: str, manifest_sha256: str, manifest: dict, counts: dict) -> str:
    """Write the restore into the restored database's security events (append-only): who ran it
    (OS user and host), the archive's name and manifest hash, when it was made and the signature
    chain head it brought back — so an inspector reading the events sees the database's history
    includes a restore. Returns the detail written."""
    from core.models import AuthEvent

    head_id, head_hash = counts.get("chain_head") or [None, ""]
    user = os_user()
    detail = (
        f"restored from {archive_name} (made {manifest.get('created_at', '?')}); manifest SHA-256 {manifest_sha256}; "
        f"signature chain head #{head_id} {head_hash}; run by OS user {user} on {socket.gethostname()}"
    )
    AuthEvent.objects.using(conn.alias).create(kind=AuthEvent.Kind.RESTORED, username=user[:150], detail=detail)
    return detail


def database_is_empty(conn) -> bool:
    return not conn.introspection.table_names()


def media_is_empty(root: Path) -> bool:
    if not storage.is_local():
        return next(storage.walk(), None) is None
    return next(_media_files(root), None) is None


def _restore_to_object_store(relative: str, staged: Path, digest: str) -> None:
    """Put one file back into the bucket under its own name, then read it back and re-hash it."""
    with open(staged, "rb") as handle:
        saved = default_storage.save(relative, File(handle, name=relative))
    if saved != relative:
        default_storage.delete(saved)
        raise BackupError(f"media/{relative}: already in the bucket; restore into an empty bucket or prefix.")
    with default_storage.open(relative, "rb") as handle:
        if sha256_chunks(iter(lambda: handle.read(CHUNK), b"")) != digest:
            raise BackupError(f"media/{relative}: the restored copy does not match the manifest.")


def _restore_database(conn, checked: CheckedArchive, *, force: bool) -> None:
    vendor = checked.manifest["database"]["vendor"]
    if conn.vendor == "postgresql":
        tool, version = _pg_tool("pg_restore")
        dumped_with = _major(checked.manifest["database"]["tool"])
        if _major(version) < dumped_with:
            raise BackupError(
                f"{version} cannot read a dump made by pg_dump {dumped_with}: install pg_restore {dumped_with} or newer."
            )
        server = _server_major(conn)
        if server < checked.manifest["database"]["server_version"]:
            raise BackupError(
                f"The archive comes from PostgreSQL {checked.manifest['database']['server_version']}; this server is "
                f"{server}: restore into a server of the same or a newer version."
            )
        cmd = [tool, "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--no-password"]
        if force:
            cmd += ["--clean", "--if-exists"]
        conn.close()  # pg_restore works in its own session
        _run(
            [*cmd, f"--dbname={conn.settings_dict['NAME']}", str(checked.database_file)],
            env=_pg_env(conn),
            what="pg_restore",
        )
        return
    if conn.vendor == "sqlite":
        name = str(conn.settings_dict["NAME"])
        if not name or name == ":memory:" or name.startswith("file:"):
            raise BackupError("Cannot restore into an in-memory SQLite database: set DATABASE_URL to a file.")
        conn.close()
        source = sqlite3.connect(checked.database_file)
        dest = sqlite3.connect(name)
        try:
            source.backup(dest)  # replaces every page of the destination: tables, indexes, triggers
        finally:
            dest.close()
            source.close()
        return
    raise BackupError(f"This archive holds a {vendor} database; this installation runs {conn.vendor}.")


def restore_backup(
    archive_path: Path | str, *, using: str = "default", force: bool = False, check_only: bool = False
) -> RestoreResult:
    """Verify ``archive_path`` completely, then restore it (see the module docstring)."""
    from core.audit import append_only_models, ensure_append_only_triggers, tables_with_append_only_triggers

    conn = connections[using]
    media_root = Path(settings.MEDIA_ROOT)
    work_parent = Path(settings.BACKUP_DIR) if getattr(settings, "BACKUP_DIR", "") else None
    if work_parent is not None and not work_parent.is_dir():
        work_parent = None
    with tempfile.TemporaryDirectory(prefix="releasedesk-restore-", dir=work_parent) as work:
        checked = check_archive(archive_path, Path(work))
        manifest = checked.manifest
        if manifest["database"]["vendor"] != conn.vendor:
            raise BackupError(
                f"This archive holds a {manifest['database']['vendor']} database; this installation runs {conn.vendor}."
            )
        if check_only:
            return RestoreResult(manifest, len(checked.media), manifest["counts"], [], [], ["archive verified only"])
        if not force and not database_is_empty(conn):
            raise BackupError(
                f"The database {conn.settings_dict['NAME']!s} is not empty: restore into a new, empty database "
                "(or pass --force to overwrite it)."
            )
        # An object is never overwritten (file_overwrite=False): a non-empty bucket is refused even
        # with --force, before the database is touched.
        if (not force or not storage.is_local()) and not media_is_empty(media_root):
            raise BackupError(
                f"MEDIA_ROOT ({media_root}) is not empty: point it at an empty directory (or pass --force)."
                if storage.is_local()
                else f"The file storage {storage_label()} is not empty: point S3_BUCKET / S3_PREFIX at an empty one."
            )
        _restore_database(conn, checked, force=force)
        restored = 0
        for relative, staged, digest in checked.media:
            if not storage.is_local():
                _restore_to_object_store(relative, staged, digest)
                restored += 1
                continue
            target = media_root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(staged, target)
            if sha256_file(target) != digest:
                raise BackupError(f"media/{relative}: the restored copy does not match the manifest (disk error?).")
            restored += 1
    conn.close()
    conn.ensure_connection()
    expected = {m._meta.db_table for m in append_only_models()} & set(conn.introspection.table_names())
    missing = sorted(expected - tables_with_append_only_triggers(using=using))
    if missing:
        ensure_append_only_triggers(using=using)
    if getattr(settings, "DATABASE_APP_ROLE", "") and conn.vendor == "postgresql":
        from core.db_roles import grant_app_privileges

        grant_app_privileges(settings.DATABASE_APP_ROLE, using=using)
    executor = MigrationExecutor(conn)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    pending = [f"{m.app_label}.{m.name}" for m, _backwards in plan]
    counts = _counts(conn)
    notes = []
    for label in ("signatures", "documents", "users"):
        if counts[label] < manifest["counts"][label]:
            notes.append(f"{label}: {counts[label]} restored, {manifest['counts'][label]} in the archive")
    try:
        event = record_restore(
            conn,
            archive_name=Path(archive_path).name,
            manifest_sha256=checked.manifest_sha256,
            manifest=manifest,
            counts=counts,
        )
    except DatabaseError as exc:  # an archive older than this code: its tables may differ until migrate
        event = ""
        notes.append(f"the restore could not be recorded as a security event ({exc}); migrate, then record it by hand")
    return RestoreResult(manifest, restored, counts, missing, pending, notes, checked.manifest_sha256, event)


def archives_in(directory: Path | str) -> list[Path]:
    """The complete archives in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


__all__ = [
    "BackupError",
    "create_backup",
    "check_archive",
    "restore_backup",
    "archives_in",
    "sha256_file",
]
