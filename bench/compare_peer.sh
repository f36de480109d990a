#!/usr/bin/env bash
# Our search step against the authors' step in PyTorch, interleaved on one
# machine, and ours with oneDNN forced off (what TensorFlow runs by default on
# CPUs without AVX-512). One JSON line per run, appended to OUT.
#
#   TORCH_PYTHON=/path/to/python-with-torch bash bench/compare_peer.sh OUT [ROUNDS]
#
# Run from the repository root with slt_tf's environment active. Each line is
# {"round", "run": ours|peer|ours_onednn_off, "ch": 128|256|demo, "result"},
# where result is the script's own JSON line (it names the machine).
set -euo pipefail
out=$(realpath -m "${1:?usage: compare_peer.sh OUT [ROUNDS]}")
rounds=${2:-2}
torch_python=${TORCH_PYTHON:?set TORCH_PYTHON to a Python that has torch}
cd "$(dirname "$0")"
line() {  # round, run, ch, command...
  local round=$1 run=$2 ch=$3
  shift 3
  echo "{\"round\": $round, \"run\": \"$run\", \"ch\": \"$ch\", \"result\": $("$@" 2>/dev/null | tail -1)}" >> "$out"
}
sngan=(--arch=sngan --resolution=32 --batch_size=64 --steps=5 --warmup=2)
demo=(--arch=gfmn --width=32 --features=classifier --steps=20 --warmup=3)
for round in $(seq "$rounds"); do
  for ch in 128 256; do
    line "$round" ours "$ch" python step_time.py "${sngan[@]}" --width="$ch"
    line "$round" peer "$ch" "$torch_python" torch_reference_step.py \
        --resolution=32 --batch_size=64 --ch="$ch" --steps=5 --warmup=2
  done
  line "$round" ours demo python step_time.py "${demo[@]}"
done
line 1 ours_onednn_off 128 env TF_ENABLE_ONEDNN_OPTS=0 python step_time.py \
    "${sngan[@]}" --width=128
line 1 ours_onednn_off demo env TF_ENABLE_ONEDNN_OPTS=0 python step_time.py \
    "${demo[@]}"
