"""The frozen ticket as a TF Serving SavedModel.

``freeze(generator)`` rebuilds the generator with every masked layer in
``frozen`` mode holding the plain kernel ``W * M`` (spectral normalisation baked
in, scores dropped) and copies the batch-norm moving statistics.
``export_saved_model`` writes it in TF Serving's ``BASE/NAME/VERSION`` layout
with two signatures:

* ``serving_default``: ``z`` float32 [None, nz] (and ``label`` int32 [None] for
  conditional BigGAN) -> ``images`` uint8 [None, H, W, C], with C the run's
  ``channels`` (1: gray images, as a gray dataset's generator draws them);
* ``sample``: ``num_images`` int32 [] and ``seed`` int64 [] -> ``images``.

The compact ticket (seeds and masks) is ``slt_tf.export.compact``.
"""

import os
import re
import shutil
from typing import Dict, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.data import images as images_lib
from slt_tf import errors
from slt_tf import fileio
from slt_tf.generators import inputs as inputs_lib
from slt_tf.ticket import layers

_MASKED_STATE = ("kernel", "scores", "bias", "bias_scores", "score_threshold")


class ExportError(errors.UserError):
  """An export that cannot be made; the message names the flag or file."""


def _frozen_config(value):
  """A model config with every masked layer in frozen mode, without SN."""
  if isinstance(value, dict):
    value = {k: _frozen_config(v) for k, v in value.items()}
    # Masked-layer configs, including the kwargs dicts of nested ones
    # (BigGAN's conditional batch norm, self-attention).
    if "keep_ratio" in value and "mode" in value:
      value["mode"] = "frozen"
      value["spectral_norm"] = False
    return value
  if isinstance(value, list):
    return [_frozen_config(v) for v in value]
  return value


def seed_independent_variables(generator) -> list:
  """The generator's variables that are not a masked layer's kernel, bias,
  scores or threshold: batch-norm statistics, power-iteration vectors, ...
  (what a ticket must store besides seeds and masks)."""
  masked = {f"{l.path}/{name}" for l in layers.masked_layers(generator)
            for name in _MASKED_STATE}
  return [v for v in generator.weights if v.path not in masked]


def effective_weights(generator, masks: Optional[dict] = None
                      ) -> Dict[str, Tuple[np.ndarray, Optional[np.ndarray]]]:
  """{layer path: (effective kernel, effective bias)} of every masked layer.

  Args:
    generator: a generator from ``slt_tf.generators.build``.
    masks: {layer path: (kernel mask, bias mask or None)} to use instead of
      the layers' score masks (a compact ticket).
  """
  result = {}
  for layer in layers.masked_layers(generator):
    if masks is not None and layer.is_ticket:
      kernel_mask, bias_mask = masks[layer.path]
      kernel = tf.convert_to_tensor(layer.kernel) * kernel_mask
      if layer.spectral_norm:
        kernel = layer._spectral_normalize(kernel, False)  # pylint: disable=protected-access
      bias = layer.effective_bias()
      if bias is not None and bias_mask is not None:
        bias = tf.convert_to_tensor(layer.bias) * bias_mask
    else:
      kernel, bias = layer.effective_kernel(False), layer.effective_bias()
    result[layer.path] = (np.asarray(kernel),
                          None if bias is None else np.asarray(bias))
  return result


def freeze(generator: keras.Model, masks: Optional[dict] = None
           ) -> keras.Model:
  """A copy of ``generator`` with plain ``W * M`` kernels and no scores.

  Batch-norm moving statistics and every other non-masked variable are
  copied; spectral normalisation is applied once, with the stored
  power-iteration vector, and baked into the kernel.
  """
  # Its own class: a ticketized user model may be Sequential.
  frozen = type(generator).from_config(_frozen_config(generator.get_config()))
  frozen(generator.inputs if len(generator.inputs) > 1 else
         generator.inputs[0])  # Builds every layer.
  # Paired in order, not by path: a Sequential rebuilt from its config
  # nests its layers' paths differently.
  # The power-iteration vectors are baked into the kernels.
  source = [v for v in seed_independent_variables(generator)
            if not v.path.endswith("/sn_u")]
  target = seed_independent_variables(frozen)
  weights = effective_weights(generator, masks)
  frozen_layers = layers.masked_layers(frozen)
  if ([v.shape for v in source] != [v.shape for v in target]
      or len(frozen_layers) != len(weights) or any(
          l.mode != "frozen" or l.spectral_norm for l in frozen_layers)):
    raise ExportError("the frozen model's layers differ from the "
                      "generator's")
  for from_v, to_v in zip(source, target):
    to_v.assign(from_v)
  for layer, (kernel, bias) in zip(frozen_layers, weights.values()):
    layer.kernel.assign(kernel)
    if bias is not None:
      layer.bias.assign(bias)
  return frozen


def next_version(model_dir: str) -> int:
  """1 + the largest integer version under ``model_dir`` (1 if none)."""
  versions = [int(n) for n in (os.listdir(model_dir)
                               if os.path.isdir(model_dir) else [])
              if n.isdigit()]
  return max(versions, default=0) + 1


def export_saved_model(frozen: keras.Model, config: TrainConfig,
                       export_dir: str, model_name: str,
                       version: Optional[int] = None) -> str:
  """Writes ``export_dir/model_name/version`` atomically; returns its path.

  Raises:
    ExportError: the version exists already, or a bad model name.
  """
  if not re.fullmatch(r"[A-Za-z0-9_.-]+", model_name or ""):
    raise ExportError(f"model_name must be letters, digits, '_', '.' or '-', "
                      f"got {model_name!r}")
  model_dir = os.path.join(export_dir, model_name)
  version = next_version(model_dir) if version is None else int(version)
  if version < 1:
    raise ExportError(f"version must be >= 1, got {version}")
  final = os.path.join(model_dir, str(version))
  if os.path.exists(final):
    raise ExportError(f"version: {final} exists already (TF Serving versions "
                      "are immutable); pick another --version")
  nz = config.model.latent_size
  conditional = bool(config.model.num_classes)

  def generate(z, label=None):
    # A request of another latent size gets this message, not a reshape's:
    # the generator reads z only after the check (without the dependency the
    # graph may run the reshape first).
    check = tf.debugging.assert_equal(
        tf.shape(z)[-1], nz, message=f"z must be float32 [batch, {nz}] (the "
        f"generator's latent size is {nz})")
    with tf.control_dependencies([check]):
      z = tf.identity(z)
    inputs = inputs_lib.generator_input([z, label] if conditional else [z])
    return {"images": images_lib.to_uint8(frozen(inputs, training=False))}

  z_spec = tf.TensorSpec([None, nz], tf.float32, name="z")
  if conditional:
    serve = tf.function(generate, input_signature=[
        z_spec, tf.TensorSpec([None], tf.int32, name="label")])
  else:
    serve = tf.function(lambda z: generate(z), input_signature=[z_spec])

  @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="num_images"),
                                tf.TensorSpec([], tf.int64, name="seed")])
  def sample(num_images, seed):
    # Drawn as the search and the evaluator draw theirs (one function).
    drawn = inputs_lib.latent_batch(num_images, nz, config.model.num_classes,
                                    tf.stack([seed, tf.constant(0, tf.int64)]))
    return generate(*drawn)

  # A plain module tracking the underlying tf.Variables once: Keras's
  # ExportArchive stores every variable twice (its own copy and the Keras
  # wrapper), and TF Serving's session loader needs the variables tracked.
  module = tf.Module()
  module.weights = [v.value for v in frozen.weights]
  module.serve, module.sample = serve, sample
  # Which run this is, so that an evaluation can refuse another run's export.
  module.run_identity = tf.Variable(config.identity_json(), trainable=False,
                                    name="run_identity")
  os.makedirs(model_dir, exist_ok=True)
  staging = os.path.join(model_dir, f".tmp-{version}")
  shutil.rmtree(staging, ignore_errors=True)
  try:
    tf.saved_model.save(module, staging, signatures={
        "serving_default": serve, "sample": sample})
    os.replace(staging, final)
  except Exception as e:  # pylint: disable=broad-except
    if not fileio.out_of_space(e):
      raise
    raise ExportError(
        f"export_dir: cannot write {fileio.no_space_text(e, staging)}; "
        f"version {version} was not written and the versions before it are "
        "unchanged") from None
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  return final


def describe_export(path: str) -> dict:
  """Sizes of an exported SavedModel (for reports)."""
  total = 0
  for root, _, files in os.walk(path):
    total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
  return {"path": path, "bytes": total}
