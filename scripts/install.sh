#!/usr/bin/env bash
# Sets up a development checkout: Debian's Chromium for the browser test, a venv, Inkwell + dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "install.sh: the browser test needs Chromium. Install it (Debian/Ubuntu:" \
             "'sudo apt-get install chromium') or set INKWELL_CHROMIUM to a Chromium binary." >&2
        [ -n "${INKWELL_CHROMIUM:-}" ] || exit 1
    fi
fi

python3 -m venv .venv
# torch and torchvision are pinned in pyproject.toml; pip takes them as one pair.
# The 'ray' extra: the RayEngine tests start a local Ray instance (CPU) in the default run.
.venv/bin/pip install --quiet -e '.[dev,ray]'
