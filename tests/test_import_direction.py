"""The apps import one way only (CONTRIBUTING.md "Imports"): api → recalls → aftersales → release →
qc_records → core. A lower app that imported a higher one would let, say, QC records depend on the
release decision they feed; what a higher app needs from a lower one is published in a named
module (``qc_records/for_release.py``), and a model may point up only by a string FK."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["core", "qc_records", "release", "aftersales", "recalls", "api"]


def upward_imports(app: str) -> list[str]:
    found = []
    for path in sorted((ROOT / app).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in LAYERS and LAYERS.index(top) > LAYERS.index(app):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module}")
    return found


def test_no_app_imports_an_app_above_it():
    problems = [line for app in LAYERS for line in upward_imports(app)]
    assert problems == [], "imports against the direction " + " → ".join(reversed(LAYERS)) + ":\n" + "\n".join(problems)


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The check itself can fail: a module of core importing release is reported with its line."""
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "bad.py").write_text("import os\nfrom release.models import Batch\n", encoding="utf-8")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert upward_imports("core") == ["core/bad.py:2 imports release.models"]
