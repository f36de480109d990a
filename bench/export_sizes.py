r"""Sizes of an exported ticket, and the frozen model's inference latency.

  python bench/export_sizes.py [--archs=gfmn,sngan,biggan] [--resolution=64]

For each architecture at its paper width and --keep_ratio, builds the generator
(seed 0), writes the compact ticket and the frozen SavedModel, and prints one
JSON line per architecture: float32 bytes of the prunable weights (the dense
model), the SavedModel's variables, the compact ticket, their ratios, and the
median latency of a --batch_size inference of the frozen SavedModel and of the
ticket generator (which recomputes its masks on every call).
"""

# First, before TensorFlow loads: importing slt_tf turns oneDNN on.
import slt_tf  # pylint: disable=unused-import

import json
import os
import tempfile

from absl import app
from absl import flags
import tensorflow as tf

from slt_tf.export import saved_model

from slt_tf.config import TrainConfig
from slt_tf.export import compact
from slt_tf import generators
from slt_tf.generators import TicketOptions
from slt_tf.resolve import resolve
import timing
from timing import median_seconds

_ARCHS = flags.DEFINE_list("archs", ["gfmn", "sngan", "biggan"],
                           "Architectures.")
_RESOLUTION = flags.DEFINE_integer("resolution", 64, "Image size.")
_KEEP = flags.DEFINE_float("keep_ratio", 0.1, "Keep ratio.")
_BATCH = flags.DEFINE_integer("batch_size", 16, "Inference batch size.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed repeats.")


def directory_bytes(path):
  return sum(os.path.getsize(os.path.join(root, f))
             for root, _, files in os.walk(path) for f in files)


def main(argv):
  del argv
  for arch in _ARCHS.value:
    with tempfile.TemporaryDirectory() as tmp:
      config = resolve(TrainConfig.make(
          workdir=tmp, arch=arch, resolution=_RESOLUTION.value,
          ticket=TicketOptions(keep_ratio=_KEEP.value)))
      generator = generators.build(arch, **config.generator_kwargs())
      ticket = compact.write_ticket(generator, config,
                                       os.path.join(tmp, "t.npz"))
      frozen = saved_model.freeze(generator)
      path = saved_model.export_saved_model(frozen, config, tmp, "m")
      variables = directory_bytes(os.path.join(path, "variables"))
      serve = tf.saved_model.load(path).signatures["serving_default"]
      z = tf.random.normal([_BATCH.value, config.model.latent_size], seed=0)
      ticket_fn = tf.function(lambda x: generator(x, training=False))
      result = {
          "arch": arch, "resolution": _RESOLUTION.value,
          "keep_ratio": _KEEP.value,
          "prunable_parameters": generators.prunable_parameter_count(
              generator)["total"],
          "dense_float32_bytes": ticket["dense_bytes"],
          "saved_model_variables_bytes": variables,
          "saved_model_total_bytes": directory_bytes(path),
          "ticket_bytes": ticket["bytes"],
          "dense_over_ticket": round(ticket["dense_bytes"] / ticket["bytes"], 1),
          "batch_size": _BATCH.value,
          "frozen_savedmodel_latency_s": round(median_seconds(
              lambda: serve(z=z), _REPEATS.value, warmup=1), 4),
          "ticket_generator_latency_s": round(median_seconds(
              lambda: ticket_fn(z), _REPEATS.value, warmup=1), 4),
          **timing.machine()}
      print(json.dumps(result), flush=True)


if __name__ == "__main__":
  app.run(main)
