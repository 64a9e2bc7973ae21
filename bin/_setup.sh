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

ensure_uv() {
    # $1: the Python to bootstrap uv with. Debian and Ubuntu's python3 refuses `pip install`
    # outside a virtual environment (PEP 668) and often has no pip at all, so uv gets a small
    # environment of its own under var/ rather than being installed into the system or ~/.local.
    local py="$1"
    command -v uv >/dev/null 2>&1 && return 0
    if [ ! -x var/uv/bin/uv ]; then
        echo ">> installing uv (the installer that reads the lock file) into var/uv"
        mkdir -p var
        if ! "$py" -m venv var/uv >/dev/null 2>&1; then
            rm -rf var/uv
            # Debian/Ubuntu ship venv support separately.
            ensure_system_packages python3-venv
            "$py" -m venv var/uv
        fi
        var/uv/bin/python -m pip install --quiet uv
    fi
    export PATH="$ROOT/var/uv/bin:$PATH"
}

ensure_python_env() {
    local py="${PYTHON:-python3}"
    if ! "$py" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else 1)' 2>/dev/null; then
        echo "!! Release Desk needs Python 3.11 or 3.12 (set PYTHON=/path/to/python3.11)." >&2
        exit 1
    fi
    ensure_uv "$py"
    [ -x .venv/bin/python ] || uv venv --quiet --python "$py" .venv
    # Exactly the locked versions, hash-checked; build-constraints keeps old sdists buildable.
    uv pip sync --quiet --python .venv/bin/python --build-constraints build-constraints.txt requirements.lock
}
