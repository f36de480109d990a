#!/usr/bin/env bash
# A plain Keras DCGAN (examples/dcgan.py) searched through the CLI on the
# embedded digits: the ticket, and on the same network the random mask (the
# ticket's starting point, never trained) and dense weight training, each
# with the demo's settings (configs/demo.cfg: keep 0.1, 2,000 steps, the
# best of four selection-split evaluations kept) but the DCGAN's own width
# (64) and its last layer pruned like the others (--nolast_dense: kept whole
# and random, a 4x4 stride-2 transposed conv draws a checkerboard), then the
# kept checkpoint of each evaluated on the report split (N=500).
# Resumable: a finished run is skipped. Usage: bash bench/user_arch_dcgan.sh [ROOT]
set -euo pipefail
root=${1:-workdirs/user_arch_dcgan}
export TF_CPP_MIN_LOG_LEVEL=3
for method in ticket random_mask dense; do
  wd=$root/$method
  if [ ! -f "$wd/result.json" ]; then
    python -m slt_tf.train --flagfile=configs/demo.cfg \
        --arch=examples.dcgan:build --width=64 --nolast_dense \
        --method=$method --workdir=$wd
  fi
  python -m slt_tf.evaluate --workdir=$wd --eval_samples=500 | python -c "
import json, sys
text = sys.stdin.read()
metrics = json.loads(text[:text.rindex('}') + 1])
print('$method', {k: round(v, 3) for k, v in metrics.items()
                  if k.startswith(('fid', 'kid', 'precision', 'recall'))})"
done
