"""The ticket search as a library function: ``run(config)``.

The moment-matching search itself (data, feature extractor, loss, distributed
loop, checkpoints) is tracked in issue #4. Until it lands, ``run`` builds the
configured ticket, reports its size, and writes the effective configuration and
a fixed-z sample grid of the untrained ticket to the workdir.
"""

import os

from absl import logging
import tensorflow as tf

from slt_tf import generators
from slt_tf import images
from slt_tf import layers
from slt_tf.config import TrainConfig


def fixed_latents(config: TrainConfig) -> list:
  """The fixed inputs of the sample grid: z (and labels), from the run's seed."""
  z = tf.random.stateless_normal([config.num_samples, config.latent_size],
                                 seed=[config.seed, 0x5A3])
  if config.num_classes:
    return [z, tf.range(config.num_samples) % config.num_classes]
  return [z]


def run(config: TrainConfig, flags_text: str = "") -> dict:
  """Runs the configured job in ``config.workdir``.

  Args:
    config: the run's configuration.
    flags_text: the effective command-line flags, written next to the outputs.

  Returns:
    A summary dict (parameter counts, paths written).
  """
  os.makedirs(config.workdir, exist_ok=True)
  images.write_atomic(os.path.join(config.workdir, "config.json"),
                      config.to_json().encode())
  if flags_text:
    images.write_atomic(os.path.join(config.workdir, "flags.txt"),
                        flags_text.encode())
  tf.keras.utils.set_random_seed(config.seed)
  generator = generators.build(config.arch, **config.generator_kwargs())
  counts = generators.prunable_parameter_count(generator)
  n_masked = len(layers.masked_layers(generator))
  logging.info("generator %s %dpx: %s prunable parameters (%s kernels, %s "
               "biases), mode=%s keep_ratio=%g, %d masked layers",
               config.arch, config.resolution, f"{counts['total']:,}",
               f"{counts['kernels']:,}", f"{counts['biases']:,}",
               config.ticket.mode, config.ticket.keep_ratio, n_masked)
  inputs = fixed_latents(config)
  # Batch statistics: an untrained ticket has no estimated moving statistics,
  # and with their initial (0, 1) the output collapses to one flat image.
  samples = generator(inputs if len(inputs) > 1 else inputs[0], training=True)
  grid_path = os.path.join(config.workdir, "samples", "init.png")
  images.write_png(grid_path, images.make_grid(samples.numpy()))
  logging.info("wrote the untrained ticket's samples (batch-norm batch "
               "statistics) to %s", grid_path)
  logging.warning("the moment-matching search is not implemented yet (issue "
                  "#4): this run built the ticket and wrote its initial "
                  "samples only")
  return {"parameters": counts, "masked_layers": n_masked,
          "samples": grid_path}
