r"""Evaluation throughput: images/s through each backbone, and metric times.

  python bench/eval_throughput.py [--images=256] [--n=10000] [--dim=2048]

Prints one JSON line: images/s of the digits evaluator (32 px) and of
InceptionV3 (random weights, inputs resized to 299 px), and the seconds of
FID, KID and PRDC (k=5) on two sets of N random D-d activations. Medians of
--repeats runs after one warm-up.
"""

# First, before TensorFlow loads: importing slt_tf turns oneDNN on.
import slt_tf  # pylint: disable=unused-import

import json
import os
import tempfile

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from slt_tf.data import datasets
from slt_tf.evaluation import backbones
from slt_tf.evaluation import metrics
import timing
from timing import median_seconds

_IMAGES = flags.DEFINE_integer("images", 256, "Images per backbone timing.")
_BATCH = flags.DEFINE_integer("batch_size", 64, "Backbone batch size.")
_N = flags.DEFINE_integer("n", 10000, "Activations per set for the metrics.")
_DIM = flags.DEFINE_integer("dim", 2048, "Activation width for the metrics.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed repeats.")


def main(argv):
  del argv
  cache_dir = os.path.join(tempfile.gettempdir(), "slt_tf_bench_cache")
  images = tf.random.uniform((_IMAGES.value, 32, 32, 3), -1, 1, seed=0)
  batches = [images[i:i + _BATCH.value]
             for i in range(0, _IMAGES.value, _BATCH.value)]
  result = {"images": _IMAGES.value, **timing.machine()}
  for name, weights in (("digits", None), ("inception", "random")):
    backbone = backbones.build(name, 32, weights, datasets.EMBEDDED, cache_dir)
    seconds = median_seconds(lambda: backbones.activations(backbone, batches),
                             _REPEATS.value, warmup=1)
    result[f"{name}_images_per_s"] = round(_IMAGES.value / seconds, 1)
  rng = np.random.default_rng(0)
  real = rng.normal(size=(_N.value, _DIM.value)).astype(np.float32)
  fake = rng.normal(0.1, 1.1, size=(_N.value, _DIM.value)).astype(np.float32)
  for name, fn in (("fid", metrics.frechet_distance),
                   ("kid", metrics.kernel_distance),
                   ("prdc", metrics.prdc)):
    result[f"{name}_seconds"] = round(
        median_seconds(lambda f=fn: f(real, fake), _REPEATS.value, warmup=1), 2)
  result.update(n=_N.value, dim=_DIM.value)
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
