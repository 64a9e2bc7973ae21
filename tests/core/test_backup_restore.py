"""manage.py backup / restore (R-OPS-1; issue 13 item 4): a round trip into an empty database
brings back the records, the signatures (verify_integrity passes) and the stored files (hashes
match); a tampered archive is refused naming the member; a non-empty target is refused unless
--force; the append-only triggers exist after a restore.

Operators run these commands as separate processes against real databases, and so do the tests:
a source database is built once per database kind by tests/core/backup_source.py (migrate + the
real services), backed up, and restored into a second database (SQLite files; on PostgreSQL the
databases <DATABASE_URL's name>_bk_bksrc / _bk_restore… next to the test database).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parents[2]
IS_POSTGRES = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

# One worker builds the (slow) source database once for the whole module: tests/conftest.py
# (SHARED_SETUP_GROUPS) keeps the module on one xdist worker.


@dataclass
class Site:
    """One installation as an operator sees it: a database URL and a MEDIA_ROOT."""

    database_url: str
    media: Path

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDIA_ROOT")}
        env.update(DATABASE_URL=self.database_url, MEDIA_ROOT=str(self.media), DJANGO_SETTINGS_MODULE="tests.settings")
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def command(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.manage("manage.py", *args, check=check)

    def query(self, sql: str) -> list[tuple]:
        if self.database_url.startswith("sqlite:"):
            with sqlite3.connect(urlsplit(self.database_url).path) as db:
                return db.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.database_url) as db:
            return db.execute(sql).fetchall()


def _pg_url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def _pg_recreate(name: str) -> None:
    import psycopg

    with psycopg.connect(_pg_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def _pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(_pg_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Vendor:
    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind, self.tmp = kind, tmp
        self.created: list[str] = []

    def site(self, name: str) -> Site:
        media = self.tmp / f"media-{name}"
        if self.kind == "sqlite":
            return Site(f"sqlite:///{self.tmp / name}.sqlite3", media)
        # Named after the suite's database and the xdist worker, so runs against different databases,
        # and two workers building this module's source at once, never collide.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        db = f"{urlsplit(os.environ['DATABASE_URL']).path.strip('/')}_bk_{name}{'_' + worker if worker else ''}"
        _pg_recreate(db)
        self.created.append(db)
        return Site(_pg_url(db), media)

    def cleanup(self) -> None:
        for db in self.created:
            _pg_drop(db)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def vendor(request, tmp_path_factory):
    if request.param == "postgresql" and not IS_POSTGRES:
        pytest.skip("needs PostgreSQL (run with DATABASE_URL=postgres://…)")
    if request.param == "sqlite" and IS_POSTGRES:
        pytest.skip("the SQLite round trip runs in the SQLite test run")
    v = Vendor(request.param, tmp_path_factory.mktemp(request.param))
    yield v
    v.cleanup()


@pytest.fixture(scope="module")
def source(vendor):
    """A migrated database with signed records, an issued PDF and a raw-data file, and its archive."""
    site = vendor.site("bksrc")
    built = json.loads(site.manage("-m", "tests.core.backup_source").stdout.strip().splitlines()[-1])
    out = site.command("backup", "--output-dir", str(vendor.tmp / "archives")).stdout
    archive = Path(out.split("archive: ", 1)[1].splitlines()[0])
    return site, built, archive, out


def _rewrite(
    archive: Path, target: Path, *, change: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None
):
    """A copy of ``archive`` with members replaced or added (what an attacker or a bad disk does)."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(target, "w:gz") as dst:
        for info in src:
            data = src.extractfile(info).read()
            if change and info.name in change:
                data = change[info.name]
                info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
        for name, data in (add or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return target


def _member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive, "r:gz") as src:
        return src.extractfile(name).read()


def test_backup_names_the_archive_and_counts_what_it_holds(source, vendor):
    """R-OPS-1: one dated archive; the manifest lists every member with SHA-256 and size."""
    _site, built, archive, out = source
    assert archive.name.startswith("releasedesk-backup-") and archive.name.endswith(".tar.gz")
    assert archive.stat().st_mode & 0o777 == 0o600  # every record, unencrypted: owner only
    assert "sha256:" in out and "2 signatures, 1 documents; 2 stored files" in out
    manifest = json.loads(_member(archive, "manifest.json"))
    paths = {f["path"]: f for f in manifest["files"]}
    assert f"media/{built['document']['file']}" in paths and f"media/{built['raw_file']}" in paths
    assert paths[f"media/{built['document']['file']}"]["sha256"] == built["document"]["sha256"]
    db_member = "database/postgresql.dump" if vendor.kind == "postgresql" else "database/sqlite3.db"
    assert db_member in paths and manifest["database"]["vendor"] == vendor.kind
    assert manifest["seal"] and manifest["counts"]["signatures"] == 2
    assert "core" in manifest["database"]["migrations"]


def test_round_trip_into_an_empty_database_brings_everything_back(source, vendor):
    """R-OPS-1: records, signatures (the integrity check verifies every one) and documents (hash) return."""
    src, built, archive, _out = source
    target = vendor.site("restore")
    out = target.command("restore", str(archive)).stdout
    assert "every SHA-256 matches its manifest" in out
    assert "restored: 2 signatures, 1 documents, 2 users; 2 stored files (each re-hashed)" in out
    assert "append-only triggers: present on every audit table" in out
    assert "restore complete; integrity check: no findings" in out
    # The restore is itself a security event in the restored database: who, which archive, which head.
    import getpass
    import hashlib

    manifest_sha = hashlib.sha256(_member(archive, "manifest.json")).hexdigest()
    head_id, head_hash = json.loads(_member(archive, "manifest.json"))["counts"]["chain_head"]
    ((kind, username, detail),) = target.query(
        "SELECT kind, username, detail FROM core_authevent WHERE kind = 'restored'"
    )
    assert username == getpass.getuser()
    assert f"restored from {archive.name} (made " in detail
    assert f"manifest SHA-256 {manifest_sha}; signature chain head #{head_id} {head_hash}; run by OS user" in detail
    assert f"security event recorded: {detail}" in out
    assert src.query("SELECT COUNT(*) FROM core_authevent WHERE kind = 'restored'") == [(0,)]
    # The records, as stored.
    names = dict(target.query("SELECT id, name FROM release_product ORDER BY id"))
    assert {str(k): v for k, v in names.items()} == built["products"]
    assert target.query("SELECT status FROM release_product") == [("approved",), ("approved",)]
    assert target.query("SELECT meaning, printed_name FROM core_signature ORDER BY id") == [
        ("approved", "刘芳"),
        ("approved", "刘芳"),
    ]
    assert target.query("SELECT COUNT(*) FROM release_historicalproduct") == src.query(
        "SELECT COUNT(*) FROM release_historicalproduct"
    )
    # The PDF and the raw-data file, byte for byte.
    restored_pdf = target.media / built["document"]["file"]
    assert hashlib.sha256(restored_pdf.read_bytes()).hexdigest() == built["document"]["sha256"]
    assert (target.media / built["raw_file"]).read_bytes() == (src.media / built["raw_file"]).read_bytes()
    # The nightly check, run as operators run it, agrees.
    verify = target.command("verify_integrity")
    assert "OK: no findings" in verify.stdout
    # The append-only triggers came back and refuse an edit of a signature.
    refused = target.manage(
        "-c",
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "try:\n"
        "    connection.cursor().execute(\"UPDATE core_signature SET printed_name = 'forged'\")\n"
        "except Exception as exc:\n"
        "    print('refused:', exc)\n",
    )
    assert "refused:" in refused.stdout and "append-only" in refused.stdout
    assert target.query("SELECT DISTINCT printed_name FROM core_signature") == [("刘芳",)]


def test_a_non_empty_database_is_refused_unless_forced(source, vendor):
    _src, _built, archive, _out = source
    target = vendor.site("restore2")
    target.command("restore", str(archive), "--no-verify")
    again = target.command("restore", str(archive), check=False)
    assert again.returncode != 0
    assert "is not empty: restore into a new, empty database (or pass --force to overwrite it)" in again.stderr
    forced = target.command("restore", str(archive), "--force")
    assert "restore complete; integrity check: no findings" in forced.stdout
    assert target.query("SELECT COUNT(*) FROM core_signature") == [(2,)]


def test_a_tampered_file_is_refused_naming_it_and_nothing_is_restored(source, vendor):
    """A PDF changed inside the archive: the restore names it and touches neither database nor files."""
    _src, built, archive, _out = source
    name = f"media/{built['document']['file']}"
    bad = _rewrite(archive, vendor.tmp / "tampered.tar.gz", change={name: _member(archive, name) + b"%forged"})
    target = vendor.site("restore3")
    done = target.command("restore", str(bad), check=False)
    assert done.returncode != 0
    assert f"{name}: its SHA-256 does not match the manifest (altered or damaged); refused." in done.stderr
    assert not target.media.exists() or not any(target.media.rglob("*"))
    if vendor.kind == "sqlite":
        assert target.query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'") == [(0,)]
    else:
        assert target.query("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]


def test_an_edited_manifest_or_an_added_file_is_refused(source, vendor):
    _src, built, archive, _out = source
    manifest = json.loads(_member(archive, "manifest.json"))
    doc = f"media/{built['document']['file']}"
    forged_pdf = b"%PDF-1.7 forged"
    import hashlib

    for entry in manifest["files"]:
        if entry["path"] == doc:
            entry["sha256"], entry["size"] = hashlib.sha256(forged_pdf).hexdigest(), len(forged_pdf)
    edited = _rewrite(
        archive,
        vendor.tmp / "edited.tar.gz",
        change={"manifest.json": json.dumps(manifest).encode(), doc: forged_pdf},
    )
    done = vendor.site("restore4").command("restore", str(edited), "--check", check=False)
    assert "manifest.json: its seal does not match (the manifest was altered); refused." in done.stderr
    added = _rewrite(archive, vendor.tmp / "added.tar.gz", add={"media/documents/extra.pdf": b"%PDF planted"})
    done = vendor.site("restore5").command("restore", str(added), "--check", check=False)
    assert (
        "media/documents/extra.pdf: in the archive but not in the manifest (added afterwards); refused." in done.stderr
    )
    truncated = vendor.tmp / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    done = vendor.site("restore6").command("restore", str(truncated), "--check", check=False)
    assert done.returncode != 0
    assert "refused" in done.stderr or "not a readable backup archive" in done.stderr


def test_check_only_verifies_without_restoring(source, vendor):
    _src, _built, archive, _out = source
    target = vendor.site("restore7")
    out = target.command("restore", str(archive), "--check").stdout
    assert "archive verified (nothing restored)" in out
    assert not target.media.exists()


def test_missing_triggers_in_an_archive_are_recreated_on_restore(vendor, tmp_path):
    """An archive made from a database whose triggers someone dropped: the restore puts them back
    and says so (the audit tables are append-only again before anyone signs in)."""
    if vendor.kind != "sqlite":
        pytest.skip("shown on SQLite; PostgreSQL's dump carries the trigger function and triggers alike")
    src = vendor.site("bksrc")  # the module's source database, already built
    stripped = Site(f"sqlite:///{tmp_path / 'stripped.sqlite3'}", src.media)
    with sqlite3.connect(urlsplit(src.database_url).path) as db, sqlite3.connect(tmp_path / "stripped.sqlite3") as out:
        db.backup(out)
    with sqlite3.connect(tmp_path / "stripped.sqlite3") as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='core_signature'"):
            db.execute(f'DROP TRIGGER "{name}"')
    archive = Path(
        stripped.command("backup", "--output-dir", str(tmp_path / "a")).stdout.split("archive: ", 1)[1].splitlines()[0]
    )
    target = Site(f"sqlite:///{tmp_path / 'restored.sqlite3'}", tmp_path / "media-restored")
    out = target.command("restore", str(archive), "--no-verify").stdout
    assert "append-only triggers were missing on 1 table(s) and were re-created: core_signature" in out
    assert target.query("SELECT COUNT(*) FROM sqlite_master WHERE type='trigger' AND tbl_name='core_signature'") == [
        (2,)
    ]


def test_backup_without_a_location_is_refused(vendor, tmp_path):
    site = Site(f"sqlite:///{tmp_path / 'none.sqlite3'}", tmp_path / "m")
    done = site.command("backup", check=False)
    assert done.returncode != 0 and "No backup location: set BACKUP_DIR or pass --output-dir." in done.stderr


def test_gzip_members_are_what_the_manifest_says(source):
    """The archive is an ordinary tar.gz an operator can list with tar -tzf."""
    _src, _built, archive, _out = source
    with gzip.open(archive) as handle:
        assert handle.read(512)  # a gzip stream
    with tarfile.open(archive) as tar:
        assert tar.getnames()[-1] == "manifest.json"
