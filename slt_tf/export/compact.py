"""The compact ticket: a found ticket as architecture config, seeds and
bit-packed masks (plus the batch-norm statistics and spectral-norm vectors,
which are not functions of the seed).

A strong ticket is fully described by its random seeds and its masks: the
frozen weights are a stateless function of (architecture config, seed).
``write_ticket`` stores exactly that and ``read_ticket`` rebuilds a generator
whose frozen export (``saved_model.freeze``) is bit-identical to the one
exported from the checkpoint.

Two exceptions. A ticket of a user's architecture (``--arch=MODULE:FUNCTION``)
records the name to compare, and is rebuilt only when the reader names the same
architecture: importing a module named in a file someone sent would run its
code. A ticket whose frozen weights are the model's own (``weight_init=model``,
e.g. a trained network's) stores those weights whole: it is not compact.
"""

import hashlib
import io
from typing import Optional, Tuple

import keras
import numpy as np

from slt_tf.config import TrainConfig
from slt_tf.export.saved_model import ExportError
from slt_tf.export.saved_model import seed_independent_variables
from slt_tf import fileio
from slt_tf import generators
from slt_tf.generators.user import ArchitectureError
from slt_tf.ticket import layers
from slt_tf.ticket.options import FROM_MODEL

# The file format's name and version, stored in every ticket and checked on read.
TICKET_FORMAT = "slt_tf.ticket/1"
_DIGEST = "digest"


def write_ticket(generator: keras.Model, config: TrainConfig, path: str) -> dict:
  """Writes the compact ticket of ``generator`` to ``path`` atomically.

  Holds the run's configuration (hence the seeds), every ticket layer's kernel
  and bias masks bit-packed, and the remaining state that is not a function of
  the seed (batch-norm moving statistics, spectral-norm vectors).

  Returns:
    {"bytes": size of the file, "dense_bytes": float32 size of the masked
    layers' kernels and biases, "masked_layers": count, "compact": False and
    "why" when the frozen weights are stored whole}.
  """
  if config.ticket.mode != "ticket":
    raise ExportError("ticket_path: a dense-mode run trained its weights; "
                      "only a ticket is described by seeds and masks")
  arrays = {"format": np.array(TICKET_FORMAT),
            "config": np.array(config.to_json())}
  for i, layer in enumerate(layers.masked_layers(generator)):
    if not layer.is_ticket:
      continue  # Frozen whole (first_dense/last_dense): a function of the seed.
    arrays[f"mask/{i}"] = np.packbits(np.asarray(layer.mask()).ravel() > 0)
    if layer.bias_scores is not None:
      arrays[f"bias_mask/{i}"] = np.packbits(
          np.asarray(layer.bias_mask()).ravel() > 0)
  for variable in seed_independent_variables(generator):
    arrays[f"state/{variable.path}"] = np.asarray(variable)
  own_weights = config.ticket.weight_init == FROM_MODEL
  if own_weights:
    for i, layer in enumerate(layers.masked_layers(generator)):
      arrays[f"kernel/{i}"] = np.asarray(layer.kernel)
      if layer.bias is not None:
        arrays[f"bias/{i}"] = np.asarray(layer.bias)
  arrays[_DIGEST] = np.array(_digest(arrays))
  buffer = io.BytesIO()
  np.savez_compressed(buffer, **arrays)
  try:
    fileio.write_atomic(path, buffer.getvalue())
  except OSError as e:
    if not fileio.out_of_space(e):
      raise
    raise ExportError(f"ticket_path: cannot write {fileio.no_space_text(e, path)}"
                      "; nothing was written") from None
  dense_bytes = 4 * generators.prunable_parameter_count(generator)["total"]
  report = {"bytes": len(buffer.getvalue()), "dense_bytes": dense_bytes,
            "masked_layers": len(layers.masked_layers(generator))}
  if own_weights:
    report.update(compact=False, why=(
        f"--weight_init={FROM_MODEL}: the frozen weights are the model's own, "
        "not a function of the seed, so the ticket stores them whole"))
  return report


def read_ticket(path: str, arch: Optional[str] = None
                ) -> Tuple[keras.Model, TrainConfig, dict]:
  """Rebuilds (generator, config, masks) from a compact ticket file.

  The generator's frozen weights are redrawn from the config's seed (or
  read from the file, for ``weight_init=model``); the masks are those
  stored. Pass both to ``freeze``.

  Args:
    path: the ticket file.
    arch: the ``MODULE:FUNCTION`` of a ticket of a user's architecture; it
      must be the one the ticket records, and the ticket is not rebuilt
      without it.

  Raises:
    ExportError: naming the file, when it is missing, corrupted, of another
      format, or does not fit the architecture it names; naming ``arch``
      when it is missing or another than the ticket's.
  """
  try:
    with np.load(path, allow_pickle=False) as stored:
      arrays = {k: stored[k] for k in stored.files}
  except Exception as e:  # pylint: disable=broad-except
    raise ExportError(f"ticket: {path} is not a readable ticket file ({e})"
                      ) from None
  if str(arrays.get("format", "")) != TICKET_FORMAT:
    raise ExportError(f"ticket: {path} is not a {TICKET_FORMAT} file")
  # Tickets written before the digest existed have none and load unchecked.
  if _DIGEST in arrays and str(arrays.pop(_DIGEST)) != _digest(arrays):
    raise ExportError(f"ticket: {path} was changed after it was written (its "
                      "digest does not match its masks and state); export "
                      "the ticket again from its workdir")
  try:
    config = TrainConfig.from_json(str(arrays["config"]))
  except (KeyError, ValueError) as e:
    raise ExportError(f"ticket: {path} does not describe a valid generator "
                      f"({e})") from None
  _check_arch(path, config.model.arch, arch)
  try:
    generator = generators.build(config.model.arch, **config.generator_kwargs())
    masks = {}
    for i, layer in enumerate(layers.masked_layers(generator)):
      if not layer.is_ticket:
        continue
      kernel_mask = _unpack(arrays[f"mask/{i}"], layer.kernel.shape)
      bias_mask = (_unpack(arrays[f"bias_mask/{i}"], layer.bias.shape)
                   if layer.bias_scores is not None else None)
      masks[layer.path] = (kernel_mask, bias_mask)
    for variable in seed_independent_variables(generator):
      variable.assign(arrays[f"state/{variable.path}"])
    if config.ticket.weight_init == FROM_MODEL:
      for i, layer in enumerate(layers.masked_layers(generator)):
        layer.kernel.assign(arrays[f"kernel/{i}"])
        if layer.bias is not None:
          layer.bias.assign(arrays[f"bias/{i}"])
  except ArchitectureError:
    raise  # Its own line: the named module cannot be imported or used.
  except (KeyError, ValueError) as e:
    raise ExportError(f"ticket: {path} does not describe a valid generator "
                      f"({e})") from None
  return generator, config, masks


def _check_arch(path: str, stored: str, named: Optional[str]):
  """A user architecture is rebuilt only when the reader names it."""
  if not generators.is_user_arch(stored):
    if named and named != stored:
      raise ExportError(f"arch: {path} is a ticket of the built-in "
                        f"architecture {stored!r}; leave --arch out")
    return
  if not named:
    raise ExportError(
        f"arch: {path} is a ticket of the user architecture {stored}; name "
        f"it with --arch={stored} to rebuild it (a ticket file never imports "
        "code by itself)")
  if named != stored:
    raise ExportError(f"arch: {path} is a ticket of {stored}, not {named}")


def _digest(arrays: dict) -> str:
  """SHA-256 of every entry's name, dtype, shape and bytes, in name order."""
  sha = hashlib.sha256()
  for name in sorted(k for k in arrays if k != _DIGEST):
    value = np.ascontiguousarray(arrays[name])
    sha.update(f"{name}\0{value.dtype.str}\0{value.shape}\0".encode())
    sha.update(value.tobytes())
  return sha.hexdigest()


def _unpack(packed, shape) -> np.ndarray:
  n = int(np.prod(shape))
  bits = np.unpackbits(packed)
  if bits.size < n or bits.size - n >= 8:
    raise ValueError(f"mask of {bits.size} bits for a tensor of {n}")
  return bits[:n].reshape(tuple(shape)).astype(np.float32)
