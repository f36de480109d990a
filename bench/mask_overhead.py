"""Cost of the edge-popup mask: a masked forward+backward step against a dense one.

Builds a realistic generator-shaped conv stack (dense z -> 4x4xC, three upsampling
stages of two 3x3 convs, to-RGB conv) twice from the same layers: in ticket mode
(gradients w.r.t. scores, masks recomputed every step) and in dense mode
(gradients w.r.t. kernels). Both are timed inside ``tf.function``, interleaved,
after warm-up; medians are reported. Also times the mask selection alone.

  python bench/mask_overhead.py --batch_size=64 --width=512 --repeats=15

Prints one JSON line.
"""

# First, before TensorFlow loads: importing slt_tf turns oneDNN on.
import slt_tf  # pylint: disable=unused-import

import json
import statistics

from absl import app
from absl import flags
import keras
import tensorflow as tf

from slt_tf.ticket import layers as masked
from slt_tf.ticket import masking
import timing

_BATCH = flags.DEFINE_integer("batch_size", 64, "Batch size.")
_WIDTH = flags.DEFINE_integer("width", 512, "Channels of the first stage.")
_NZ = flags.DEFINE_integer("nz", 100, "Latent size.")
_REPEATS = flags.DEFINE_integer("repeats", 15, "Timed steps per variant.")
_WARMUP = flags.DEFINE_integer("warmup", 3, "Untimed steps per variant.")
_KEEP = flags.DEFINE_float("keep_ratio", 0.1, "Fraction of weights kept.")
_METHOD = flags.DEFINE_enum("method", "auto", list(masking.SELECTION_METHODS),
                            "Mask selection algorithm of the ticket layers.")


def build_stack(mode: str, width: int, nz: int, keep_ratio: float,
                selection: str = "auto") -> keras.Model:
  common = dict(mode=mode, keep_ratio=keep_ratio, selection=selection)
  z = keras.Input((nz,))
  x = masked.MaskedDense(4 * 4 * width, seed=0, **common)(z)
  x = keras.layers.Reshape((4, 4, width))(x)
  seed = 1
  for stage in range(3):
    out = width // (2 ** (stage + 1))
    x = keras.layers.UpSampling2D()(x)
    for _ in range(2):
      x = masked.MaskedConv2D(out, 3, padding="same", activation="relu",
                              seed=seed, **common)(x)
      seed += 1
  x = masked.MaskedConv2D(3, 3, padding="same", activation="tanh", seed=seed,
                          **common)(x)
  return keras.Model(z, x)


def main(argv):
  del argv
  keras.utils.set_random_seed(0)
  ticket = build_stack("ticket", _WIDTH.value, _NZ.value, _KEEP.value,
                       _METHOD.value)
  dense = build_stack("dense", _WIDTH.value, _NZ.value, _KEEP.value)
  z = tf.random.normal([_BATCH.value, _NZ.value])

  def step_fn(model):
    variables = model.trainable_variables

    @tf.function
    def step():
      with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(z, training=True)))
      grads = tape.gradient(loss, variables)
      return loss, grads

    return lambda: tf.nest.map_structure(lambda t: t.numpy(), step())

  mask_layers = masked.masked_layers(ticket)

  @tf.function
  def masks_only():
    return [tf.reduce_sum(l.mask()) for l in mask_layers]

  variants = {"ticket": step_fn(ticket), "dense": step_fn(dense),
              "masks_only": lambda: [t.numpy() for t in masks_only()]}
  for fn in variants.values():
    for _ in range(_WARMUP.value):
      fn()
  samples = {name: [] for name in variants}
  # Interleave so that machine drift hits all variants alike.
  for _ in range(_REPEATS.value):
    for name, fn in variants.items():
      samples[name].append(timing.median_seconds(fn, 1))
  med = {name: statistics.median(v) for name, v in samples.items()}
  n_weights = sum(int(tf.size(l.kernel)) for l in mask_layers)
  print(json.dumps({
      "bench": "mask_overhead",
      "batch_size": _BATCH.value, "width": _WIDTH.value,
      "keep_ratio": _KEEP.value, "method": _METHOD.value,
      "masked_weights": n_weights,
      "median_ticket_step_s": round(med["ticket"], 4),
      "median_dense_step_s": round(med["dense"], 4),
      "median_mask_selection_s": round(med["masks_only"], 4),
      "ticket_over_dense": round(med["ticket"] / med["dense"], 4),
      "repeats": _REPEATS.value,
      "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
      **timing.machine(),
  }))


if __name__ == "__main__":
  app.run(main)
