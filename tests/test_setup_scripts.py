"""The README's set-up commands on a fresh Debian/Ubuntu machine (issue 2, "Done when").

bin/demo and bin/test share bin/_setup.sh. On Debian 12 / Ubuntu 23.04+ the system python3 refuses
``pip install`` outside a virtual environment (PEP 668, "externally-managed-environment"), so uv,
which installs the lock file, cannot be put into the system or ~/.local with pip. These tests run
the real script against a stand-in python3 that behaves like Debian's, offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(settings.BASE_DIR)

# Behaves like Debian's python3: `-m pip` is refused (PEP 668); `-m venv DIR` makes an environment
# whose own pip "installs" uv as a small script; anything else runs the real interpreter.
FAKE_PYTHON = textwrap.dedent(
    """\
    #!/bin/sh
    if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
        echo "error: externally-managed-environment" >&2
        exit 1
    fi
    if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
        mkdir -p "$3/bin"
        cat > "$3/bin/python" <<'PY'
    #!/bin/sh
    if [ "$1" = "-m" ] && [ "$2" = "pip" ] && [ "$3" = "install" ]; then
        here="$(cd "$(dirname "$0")" && pwd)"
        printf '#!/bin/sh\\necho "uv (stand-in)"\\n' > "$here/uv"
        chmod +x "$here/uv"
        exit 0
    fi
    exit 1
    PY
        chmod +x "$3/bin/python"
        exit 0
    fi
    exec {real} "$@"
    """
).replace("{real}", sys.executable)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_uv_is_bootstrapped_where_system_python_refuses_pip(tmp_path):
    """Issue 2 (README: one command on a fresh Debian/Ubuntu machine): without uv on PATH and with
    a system python3 that refuses pip (PEP 668), the setup gets uv into var/uv instead of failing."""
    project = tmp_path / "project"
    (project / "bin").mkdir(parents=True)
    shutil.copy(REPO / "bin" / "_setup.sh", project / "bin" / "_setup.sh")
    tools = tmp_path / "tools"
    tools.mkdir()
    fake = tools / "python3"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    # A PATH with the basic tools (dirname, mkdir, …) and no uv anywhere on it.
    path = os.pathsep.join(
        d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "uv").exists()
    )
    script = "source bin/_setup.sh; ensure_python_env; command -v uv; uv"
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": f"{tools}{os.pathsep}{path}", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-2:] == [str(project / "var" / "uv" / "bin" / "uv"), "uv (stand-in)"]
    assert "externally-managed" not in result.stderr
