# Shared by bin/demo and bin/test: system packages, then the Python environment from the lock file.
# Sourced, not run. Works on a fresh Debian/Ubuntu machine; elsewhere prints what to install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ensure_system_packages() {
    # $@: Debian package names.
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local cmd="apt-get install -y --no-install-recommends ${missing[*]}"
    if command -v apt-get >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then
            echo ">> installing system packages: ${missing[*]}"
            DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive $cmd -qq
            return 0
        elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            echo ">> installing system packages: ${missing[*]}"
            sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive $cmd -qq
            return 0
        fi
    fi
    echo "!! Missing system packages. Install them with:" >&2
    echo "   sudo $cmd" >&2
    exit 1
}

ensure_python_env() {
    local py="${PYTHON:-python3}"
    if ! "$py" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else 1)' 2>/dev/null; then
        echo "!! Release Desk needs Python 3.11 or 3.12 (set PYTHON=/path/to/python3.11)." >&2
        exit 1
    fi
    if ! command -v uv >/dev/null 2>&1; then
        echo ">> installing uv (the installer that reads the lock file)"
        "$py" -m pip install --quiet uv 2>/dev/null || "$py" -m pip install --quiet --user uv
        export PATH="$HOME/.local/bin:$PATH"
    fi
    [ -x .venv/bin/python ] || uv venv --quiet --python "$py" .venv
    # Exactly the locked versions, hash-checked; build-constraints keeps old sdists buildable.
    uv pip sync --quiet --python .venv/bin/python --build-constraints build-constraints.txt requirements.lock
}
