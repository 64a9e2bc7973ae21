"""R-UX-1: the interface speaks Simplified Chinese by default and English on request.

* the zh-hans catalogue translates every string the code and templates mark for translation
  (a new string without a translation fails here, not in front of a QA person);
* the compiled ``.mo`` that the server reads matches the ``.po`` that people edit;
* pages come in zh-hans by default and in English after the language switch, GMP terms included.

Fixing a failure: run ``bin/i18n``, translate the new empty ``msgstr`` entries in
``locale/zh_Hans/LC_MESSAGES/django.po`` (clear any ``#, fuzzy``), run ``bin/i18n`` again.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

REPO = Path(settings.BASE_DIR)
LOCALE = REPO / "locale"
MESSAGES = LOCALE / "zh_Hans" / "LC_MESSAGES"
DOMAINS = ("django", "djangojs")
# Left out of the catalogue, as in bin/i18n.
IGNORED = (".venv", "var", "tests", "test-artifacts", "node_modules")
HOW_TO_FIX = (
    "run bin/i18n, translate the empty msgstr entries in locale/zh_Hans/LC_MESSAGES/*.po "
    "(and remove any 'fuzzy' flag), then run bin/i18n again to compile the .mo"
)


# --- a small .po reader (no third-party package needed) ----------------------------------------


@dataclass
class PoEntry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values())

    def label(self) -> str:
        return (f"[{self.msgctxt}] " if self.msgctxt else "") + repr(self.msgid)


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def read_po(path: Path) -> list[PoEntry]:
    entries: list[PoEntry] = []
    entry = PoEntry()
    target: tuple[str, int] | None = None
    seen_keyword = False

    def finish() -> None:
        nonlocal entry, target, seen_keyword
        if seen_keyword:
            entries.append(entry)
        entry, target, seen_keyword = PoEntry(), None, False

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            line = line[2:].strip()
            if not line or line.startswith("#"):
                continue
        elif line.startswith("#,"):
            if seen_keyword:
                finish()
            entry.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        elif line.startswith("#"):
            if seen_keyword:
                finish()
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, text = match.groups()
            if keyword in ("msgctxt", "msgid") and seen_keyword and target and target[0].startswith("msgstr"):
                finish()  # an entry that started without a blank line before it
            seen_keyword = True
            target = ("msgstr", int(index)) if keyword.startswith("msgstr") and index else (keyword, 0)
            _append(entry, target, "")
            line = text
        if target is None or not line.startswith('"'):
            raise AssertionError(f"{path}: cannot read line {raw!r}")
        _append(entry, target, ast.literal_eval(line))
    finish()
    return entries


def _append(entry: PoEntry, target: tuple[str, int], text: str) -> None:
    name, index = target
    if name == "msgstr":
        entry.msgstr[index] = entry.msgstr.get(index, "") + text
    else:
        setattr(entry, name, (getattr(entry, name) or "") + text)


def catalogue(entries: list[PoEntry]) -> dict:
    """What msgfmt puts in the .mo: translated, not fuzzy, not obsolete; keys as gettext reads them."""
    out: dict = {}
    for e in entries:
        if e.is_header or e.obsolete or e.fuzzy or not e.translated:
            continue
        key = f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt is not None else e.msgid
        if e.msgid_plural is None:
            out[key] = e.msgstr[0]
        else:
            for index, text in e.msgstr.items():
                out[(key, index)] = text
    return out


def repo_po_files() -> list[Path]:
    return sorted(MESSAGES.glob("*.po"))


# --- (a) every string has its Chinese --------------------------------------------------------


def _copy_sources(dest: Path) -> None:
    """The project as it is on disk now (committed or not), without what bin/i18n ignores."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in {"__pycache__", ".git", ".pytest_cache"} or n.endswith((".pyc", ".mo"))}
        if Path(directory) == REPO:
            skip |= {n for n in names if n in IGNORED}
        return skip

    shutil.copytree(REPO, dest, ignore=ignore, symlinks=True)


def test_catalogue_translates_every_string(tmp_path):
    """R-UX-1: makemessages over the current code finds no untranslated or fuzzy zh-hans entry.

    Runs the real ``manage.py makemessages`` (as bin/i18n does) on a copy of the project, so the
    repository's catalogue is untouched; a string added anywhere without its translation fails.
    """
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.fail("GNU gettext is needed for this test (bin/test installs it): apt-get install gettext")
    assert (MESSAGES / "django.po").is_file(), "no zh_Hans catalogue: " + HOW_TO_FIX
    src = tmp_path / "src"
    _copy_sources(src)
    env = {**os.environ, "DEBUG": "1", "PYTHONDONTWRITEBYTECODE": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DATABASE_URL", None)  # makemessages needs no database
    for domain in DOMAINS:
        command = [
            sys.executable,
            "manage.py",
            "makemessages",
            "-d",
            domain,
            "-l",
            "zh_Hans",
            "--no-location",
            *(f"--ignore={name}" for name in IGNORED),
        ]
        result = subprocess.run(command, cwd=src, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"makemessages -d {domain} failed:\n{result.stdout}\n{result.stderr}"

    regenerated = sorted((src / "locale" / "zh_Hans" / "LC_MESSAGES").glob("*.po"))
    assert any(p.name == "django.po" for p in regenerated)
    problems = []
    for po in regenerated:
        entries = [e for e in read_po(po) if not e.obsolete and not e.is_header]
        assert entries, f"{po.name}: no messages found (is makemessages looking at the code?)"
        problems += [f"{po.name}: untranslated {e.label()}" for e in entries if not e.translated]
        problems += [f"{po.name}: fuzzy {e.label()}" for e in entries if e.fuzzy and e.translated]
    assert not problems, "zh-hans catalogue incomplete — " + HOW_TO_FIX + ":\n" + "\n".join(problems)


def test_known_strings_are_found_by_makemessages():
    """R-UX-1: the catalogue reader works: strings from Python, models and templates are in the .po."""
    msgids = {e.msgid for e in read_po(MESSAGES / "django.po")}
    for expected in (
        "approval number",
        "Quarantine",
        "Sign in",
        "Signature invalid — record changed after signing",
        "Page %(n)s of %(total)s",
    ):
        assert expected in msgids


# --- (b) the compiled catalogue is the edited one ---------------------------------------------


@pytest.mark.parametrize("po", repo_po_files(), ids=lambda p: p.name)
def test_mo_matches_po(po):
    """R-UX-1: the committed .mo (read by the server, which has no gettext) holds exactly the .po's
    translations: a .po edited without re-running bin/i18n fails here."""
    mo = po.with_suffix(".mo")
    assert mo.is_file(), f"{mo.name} missing: " + HOW_TO_FIX
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    assert compiled.info().get("content-type", "").lower().endswith("charset=utf-8")
    from_mo = {k: v for k, v in compiled._catalog.items() if k != ""}
    from_po = catalogue(read_po(po))
    assert set(from_mo) == set(from_po), (
        f"{mo.name} is stale — " + HOW_TO_FIX + f"; only in .po: {sorted(map(str, set(from_po) - set(from_mo)))[:10]}, "
        f"only in .mo: {sorted(map(str, set(from_mo) - set(from_po)))[:10]}"
    )
    differing = [k for k in from_po if from_po[k] != from_mo[k]]
    assert not differing, f"{mo.name} is stale — {HOW_TO_FIX}; changed: {differing[:10]}"


@pytest.mark.parametrize("po", repo_po_files(), ids=lambda p: p.name)
def test_placeholders_kept(po):
    """R-UX-1: a translation keeps every %(name)s / {{ }} placeholder, so no page breaks or loses data."""
    placeholder = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")
    bad = []
    for e in read_po(po):
        if e.is_header or e.obsolete or not e.translated:
            continue
        wanted = sorted(placeholder.findall(e.msgid))
        for text in e.msgstr.values():
            if sorted(placeholder.findall(text)) != wanted:
                bad.append(e.label())
    assert not bad, f"{po.name}: placeholders differ in {bad}"


def test_header_declares_chinese_utf8():
    """R-UX-1: the header is not fuzzy (msgfmt would drop it, and with it the UTF-8 charset)."""
    header = next(e for e in read_po(MESSAGES / "django.po") if e.is_header)
    assert not header.fuzzy
    assert "charset=UTF-8" in header.msgstr[0]
    assert "Language: zh_Hans" in header.msgstr[0]


# --- (c) zh-hans by default, English on request ------------------------------------------------


def _switch_language(client: Client, code: str, next_url: str) -> None:
    response = client.post(reverse("set_language"), {"language": code, "next": next_url})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == code


@pytest.mark.django_db
def test_login_page_is_chinese_by_default_and_english_after_switch():
    """R-UX-1: a first visit (no language chosen) gets zh-hans; the switch turns pages English."""
    client = Client()
    login_url = reverse("login")
    page = client.get(login_url).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "登录" in page
    assert "多次登录失败后账户将被锁定" in page  # from this project's catalogue, not Django's
    assert "Sign in" not in page

    _switch_language(client, "en", login_url)
    page = client.get(login_url).content.decode()
    assert '<html lang="en">' in page
    assert "Sign in" in page
    assert "Accounts lock after repeated failed sign-ins" in page
    assert "登录" not in page

    _switch_language(client, "zh-hans", login_url)
    page = client.get(login_url).content.decode()
    assert '<html lang="zh-hans">' in page and "登录" in page


@pytest.mark.django_db
def test_navigation_and_my_work_in_both_languages(client_for, qa_reviewer):
    """R-UX-1: the signed-in frame (menu, queues) follows the language too."""
    client = client_for(qa_reviewer)
    page = client.get(reverse("core:my_work")).content.decode()
    for text in ("我的待办", "产品", "批次", "审计追踪", "修改密码", "退出登录"):
        assert text in page
    _switch_language(client, "en", reverse("core:my_work"))
    page = client.get(reverse("core:my_work")).content.decode()
    for text in ("My work", "Products", "Batches", "Audit trail", "Change password", "Sign out"):
        assert text in page
    assert "审计追踪" not in page


# --- (d) GMP records: labels and signature meanings in both languages --------------------------


@pytest.mark.django_db
def test_signed_product_in_chinese_and_english(client_for, approved_product, auditor):
    """R-UX-1: a product approved with an electronic signature shows its meaning and labels in
    GMP Chinese by default (批准, 签名有效, 批准文号, 剂型 …) and in English after the switch."""
    client = client_for(auditor)
    url = approved_product.get_absolute_url()
    zh = client.get(url).content.decode()
    for text in (
        "批准文号",
        "剂型",
        "胶囊剂",
        "规格",
        "包装规格",
        "贮藏",
        "上市许可持有人",
        "有效期（月）",
        "电子签名",
        "签名有效",
        ">批准<",
        ">胶囊剂<",
    ):
        assert text in zh, text
    for english in ("Approval number", "Signature valid", "Electronic signatures", ">Approved<", ">Capsule<"):
        assert english not in zh, english

    _switch_language(client, "en", url)
    en = client.get(url).content.decode()
    for text in (
        "Approval number",
        "Dosage form",
        ">Capsule<",
        "Strength",
        "Pack size",
        "Storage conditions",
        "Marketing authorisation holder",
        "Electronic signatures",
        "Signature valid",
        ">Approved<",
    ):
        assert text in en, text
    for chinese in ("批准文号", "签名有效", "电子签名", ">批准<"):
        assert chinese not in en, chinese


@pytest.mark.django_db
def test_changed_after_signing_warning_in_both_languages(client_for, approved_product, admin_user, auditor):
    """R-UX-1: the invalid-signature warning is in Chinese (签名无效——签名后记录已被修改) and English."""
    from release import services

    services.product_update(product=approved_product, user=admin_user, data={"strength": "0.5g"}, reason="规格更正")
    client = client_for(auditor)
    url = approved_product.get_absolute_url()
    zh = client.get(url).content.decode()
    assert "签名无效——签名后记录已被修改" in zh
    assert ">草稿<" in zh
    _switch_language(client, "en", url)
    en = client.get(url).content.decode()
    assert "Signature invalid — record changed after signing" in en
    assert ">Draft<" in en


@pytest.mark.django_db
def test_batch_in_quarantine_in_chinese_and_english(client_for, approved_product, production_reviewer, auditor):
    """R-UX-1: a new batch reads 待验 / 批号 / 有效期至 in Chinese and Quarantine / Batch number / Expiry date in English."""
    from datetime import date
    from decimal import Decimal

    from release import services

    batch = services.batch_create(
        user=production_reviewer,
        data=dict(
            product=approved_product,
            batch_number="I18N0001",
            batch_size=Decimal("1000"),
            batch_size_unit="capsules",
            manufacture_date=date(2026, 10, 1),
            site="固体制剂车间一",
        ),
    )
    client = client_for(auditor)
    url = batch.get_absolute_url()
    zh = client.get(url).content.decode()
    for text in ("待验", "批号", "批量", "生产日期", "有效期至", " 粒</dd>"):
        assert text in zh, text
    assert "Quarantine" not in zh
    _switch_language(client, "en", url)
    en = client.get(url).content.decode()
    for text in ("Quarantine", "Batch number", "Batch size", "Manufacture date", "Expiry date", " capsules</dd>"):
        assert text in en, text
    assert "待验" not in en
