#!/bin/sh
# orderbot's two commands, for a fresh clone as much as for a running server:
#   ./run.sh [orderbot arguments]   set up on first use, then run the bot
#   ./run.sh test [pytest arguments] set up on first use, then run the whole test suite
# Set-up means a virtual environment in .venv with the pinned requirements; it is
# redone only when requirements*.txt, setup.cfg or pyproject.toml change.
set -eu

cd "$(dirname "$0")"

find_python() {
    for candidate in python3 python3.13 python3.12; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

fingerprint() {
    cat "$@" setup.cfg pyproject.toml | cksum | cut -d' ' -f1
}

is_current() {
    # $1: a stamp file; $2: the fingerprint it must hold
    [ -x .venv/bin/python ] && [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}

quiet_pip() {
    # pip's progress and notices go to a log, shown only if the install fails.
    if ! .venv/bin/python -m pip --disable-pip-version-check "$@" >>.venv/install.log 2>&1; then
        tail -n 30 .venv/install.log >&2
        echo "Installing failed; the whole log is in .venv/install.log" >&2
        exit 1
    fi
}

setup_venv() {
    # $1: "run" (runtime only) or "test" (runtime plus test and development tools)
    case "$1" in
        test) requirements=requirements-dev.txt ;;
        *) requirements=requirements.txt ;;
    esac
    stamp=".venv/.installed-$1"
    wanted=$(fingerprint requirements.txt "$requirements")
    if is_current "$stamp" "$wanted"; then
        return 0
    fi
    # The test set-up includes everything the bot itself needs.
    if [ "$1" = run ] && is_current .venv/.installed-test \
        "$(fingerprint requirements.txt requirements-dev.txt)"; then
        return 0
    fi
    if [ ! -x .venv/bin/python ]; then
        python=$(find_python) || {
            echo "orderbot needs Python 3.12 or newer (python3 --version shows yours)." >&2
            echo "Debian 13 / Ubuntu 24.04: sudo apt install python3 python3-venv" >&2
            exit 1
        }
        echo "Creating .venv with $($python --version)..." >&2
        "$python" -m venv .venv
    fi
    echo "Installing $requirements into .venv (first run only)..." >&2
    quiet_pip install --upgrade pip
    quiet_pip install -r "$requirements"
    quiet_pip install --no-deps -e .
    echo "$wanted" > "$stamp"
}

if [ "${1:-}" = "test" ]; then
    shift
    setup_venv test
    exec .venv/bin/python -m pytest "$@"
fi

setup_venv run
exec .venv/bin/python -m orderbot "$@"
