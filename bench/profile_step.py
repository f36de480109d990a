r"""Profiles the search step with the TensorFlow profiler.

  python bench/profile_step.py --arch=sngan --resolution=32 --batch_size=64 \
      --method=ticket --steps=3 --logdir=/tmp/slt_profile

Takes the flags of ``search_step.py`` (the same real step, random data), runs the
warm-up steps, then traces ``--steps`` steps into ``--logdir`` (open it with
TensorBoard's profile plugin for the trace viewer) and prints one JSON line:
the share of the traced time per op type and per top-level name scope,
forward or backward (TensorFlow's ``framework_op_stats`` of the trace), the
top ops, and how many times the step was traced (more than
once means retracing inside the loop).
"""

# First, before TensorFlow loads: importing slt_tf turns oneDNN on.
import slt_tf  # pylint: disable=unused-import

import collections
import glob
import json
import os
import tempfile

from absl import app
from absl import flags
import tensorflow as tf
from tensorflow.python.profiler.internal import _pywrap_profiler_plugin  # pylint: disable=g-direct-tensorflow-import

import search_step
import timing

_LOGDIR = flags.DEFINE_string("logdir", None, "Trace directory (default: a "
                              "temporary one, deleted).")
_TOP = flags.DEFINE_integer("top", 8, "Op types and ops listed.")


def op_stats(logdir: str) -> list:
  """Rows of the trace's framework op statistics: dicts keyed by column id
  (``type``, ``operation``, ``total_self_time``, ``host_or_device``...)."""
  paths = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
  if not paths:
    raise RuntimeError(f"no trace under {logdir}")
  data, ok = _pywrap_profiler_plugin.xspace_to_tools_data(
      paths, "framework_op_stats", {})
  if not ok:
    raise RuntimeError("the profiler could not convert the trace")
  tables = json.loads(data)
  table = tables[0] if isinstance(tables, list) else tables
  ids = [c["id"] for c in table["cols"]]
  return [dict(zip(ids, (cell.get("v") if cell else None
                         for cell in row["c"])))
          for row in table["rows"]]


def summarise(rows: list, top: int) -> dict:
  """Self-time shares per op type and the top ops (IDLE excluded)."""
  rows = [r for r in rows if r.get("type") != "IDLE"]
  total = sum(float(r["total_self_time"]) for r in rows) or 1.0
  by_type = collections.Counter()
  for r in rows:
    by_type[r["type"]] += float(r["total_self_time"])
  by_scope = collections.Counter()
  for r in rows:
    parts = str(r["operation"]).split("/")
    backward = parts[0] == "gradient_tape" and len(parts) > 1
    scope = parts[1] if backward else parts[0]
    by_scope[f"{scope} ({'backward' if backward else 'forward'})"] += float(
        r["total_self_time"])
  ops = sorted(rows, key=lambda r: -float(r["total_self_time"]))[:top]
  return {
      "traced_self_time_ms": round(total / 1e3, 1),
      "op_types": {t: round(v / total, 4) for t, v in by_type.most_common(top)},
      "scopes": {t: round(v / total, 4) for t, v in by_scope.most_common(top)},
      "top_ops": [{"op": r["operation"], "type": r["type"],
                   "share": round(float(r["total_self_time"]) / total, 4)}
                  for r in ops]}


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as workdir:
    config, _, step, _ = search_step.build_step(workdir)
    for _ in range(flags.FLAGS.warmup):
      float(step()["loss"])
    logdir = _LOGDIR.value or os.path.join(workdir, "trace")
    tf.profiler.experimental.start(logdir)
    for _ in range(flags.FLAGS.steps):
      float(step()["loss"])
    tf.profiler.experimental.stop()
    report = summarise(op_stats(logdir), _TOP.value)
    print(json.dumps({
        "arch": config.model.arch, "resolution": config.model.resolution,
        "batch_size": config.optim.batch_size, "method": config.method,
        "steps_traced": flags.FLAGS.steps,
        "step_traces": step.compiled.experimental_get_tracing_count(),
        **report, "logdir": _LOGDIR.value, **timing.machine()}))


if __name__ == "__main__":
  app.run(main)
