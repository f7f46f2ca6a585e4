#!/usr/bin/env bash
# One-shot set-up for a fresh Debian/Ubuntu machine (or a dev box): system packages, a virtual
# environment in .venv, PyTorch 2.13.0 first (a CPU build is enough), then course-ta itself at the
# versions CI tested (infra/constraints.txt; regenerate it with infra/update-constraints.sh).
# Safe to re-run: what is already installed at the pinned version is left alone.
# Usage: bash infra/install.sh [--test]     (--test also installs the test tools: pytest, ruff, mypy, selenium, chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(ffmpeg espeak-ng libopus0 sox)
# --test: a real headless browser for the instructor console's browser tests (Debian's chromium and its driver).
[ "${1:-}" = "--test" ] && SYSTEM_PACKAGES+=(chromium chromium-driver)
missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "==> installing system packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
# Every dependency at the exact version CI tested, so a fresh machine next month gets the same set.
CONSTRAINTS=(-c infra/constraints.txt)
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  echo "==> installing torch==2.13.0"
  "${PIP[@]}" install "${CONSTRAINTS[@]}" "torch==2.13.0"
fi
EXTRAS=""
[ "${1:-}" = "--test" ] && EXTRAS="[test]"
echo "==> installing course-ta${EXTRAS}"
log=$(mktemp)
if ! "${PIP[@]}" install "${CONSTRAINTS[@]}" -e ".${EXTRAS}" >"$log" 2>&1; then
  grep -v "^WARNING: Location" "$log" >&2; rm -f "$log"; exit 1
fi
rm -f "$log"
.venv/bin/python -c "import pipelines, bot, voice" && echo "==> course-ta is installed in .venv"
