#!/usr/bin/env bash
# The GPU machine's check, run as is from the repository root:
#   bash bench/gpu_check.sh            # the active venv, else .venv (set up with the GPU extra if absent)
#   bash bench/gpu_check.sh --dry_run  # on any machine: tiny models, CPU is enough
# Prints JSON lines (bench/gpu_check.py says what each holds). Extra
# arguments go to bench/gpu_check.py.
set -euo pipefail
cd "$(dirname "$0")/.."
# The active virtual environment, else .venv (made with the GPU extra if absent).
PYTHON="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}"
if [ -z "$PYTHON" ]; then
  if [ ! -x .venv/bin/python ]; then
    python3.11 -m venv .venv
    .venv/bin/pip install -q -e ".[gpu]"
  fi
  PYTHON=.venv/bin/python
fi
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
  2>/dev/null | sed 's/^/# nvidia-smi: /' >&2 || true
exec "$PYTHON" bench/gpu_check.py "$@"
