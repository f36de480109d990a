"""``finetune``: a dense generator started from a found ticket's ``W * M``."""

import dataclasses
from typing import List

from absl import logging
import keras
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.errors import RunError
from slt_tf.ticket import layers
from slt_tf import workdir


def check_init_from(config: TrainConfig) -> TrainConfig:
  """The config of the ticket in ``config.init_from``, checked without
  restoring it (``check_inputs`` runs this before any output is written).

  Raises:
    RunError: naming ``init_from``, when it is not a compatible ticket.
  """
  source = workdir.read_config(config.init_from, flag="init_from")
  if source.ticket.mode != "ticket":
    raise RunError(f"init_from: {config.init_from} holds a "
                   f"{source.method!r} run, not a ticket")
  # The same generator, but for the layers' mode (the ticket's scores).
  mine = dict(config.generator_kwargs(),
              ticket=dataclasses.replace(config.ticket, mode="ticket"))
  if source.model.arch != config.model.arch or source.generator_kwargs() != mine:
    raise RunError(f"init_from: {config.init_from} holds a different "
                   f"generator ({source.model.arch} {source.generator_kwargs()}); "
                   "use the ticket's --arch, --resolution, --width, --nz, "
                   "--seed and ticket flags")
  if not tf.train.latest_checkpoint(workdir.checkpoint_dir(source.workdir)):
    raise RunError(f"init_from: no checkpoint in "
                   f"{workdir.checkpoint_dir(source.workdir)}")
  return source


def start_from_ticket(config: TrainConfig, generator: keras.Model
                      ) -> List[tf.Tensor]:
  """Sets a dense generator to the ticket of ``config.init_from``: kernels
  and biases ``W * M``, the ticket's batch-norm statistics and power
  iterations. Returns the masks of ``generator.trainable_variables``.

  Raises:
    RunError: naming ``init_from``, when it is not a compatible ticket.
  """
  source = check_init_from(config)
  ticket = workdir.restore_generator(source)
  if source.ticket.mask_scope == "global":
    layers.update_global_thresholds(ticket)
  logging.info("finetune: starting from the ticket in %s", config.init_from)
  masks, values = {}, {v.path: v for v in ticket.variables}
  for layer in layers.masked_layers(ticket):
    # All ones for layers kept whole (first_dense, last_dense): all trainable.
    masks[layer.kernel.path] = tf.cast(layer.mask(), tf.float32)
    if layer.bias is not None:
      masks[layer.bias.path] = tf.cast(layer.bias_mask(), tf.float32)
  for variable in generator.variables:
    if variable.path not in values:
      raise RunError(f"init_from: the ticket has no variable "
                     f"{variable.path}")
    source_value = values[variable.path]
    if variable.path in masks:
      source_value = source_value * masks[variable.path]
    variable.assign(source_value)
  return [masks[v.path] for v in generator.trainable_variables]
