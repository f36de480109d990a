"""A user's own Keras generator as an architecture: ``--arch=MODULE:FUNCTION``.

``FUNCTION`` (importable from ``MODULE``, e.g. ``examples.dcgan:build``) is
called as ``FUNCTION(nz=..., channels=..., resolution=...)`` (and ``width=``
when the run sets ``--width``) and returns a
Keras functional or Sequential model mapping z of shape (B, nz) to images
(B, resolution, resolution, channels) in [-1, 1]. The model is ticketized
(``slt_tf.ticket.ticketize``) with the run's ticket options, so that the
search, resume, evaluation, export and the compact ticket work on it as on the
package's own generators.

The frozen weights are redrawn from the seed by the run's ``weight_init``,
layer ``i`` of the model (in topological order) with the seed ``seed * 4096
+ i``; ``weight_init="model"`` keeps the function's own weights instead.
The function is called in a fresh Keras naming scope, so that every call
in a process names (hence paths) the layers alike.
"""

import contextlib
import importlib
from typing import Callable

import keras
import numpy as np

from slt_tf import errors
from slt_tf.generators import catalog
from slt_tf.ticket.options import TicketOptions
from slt_tf.ticket.convert import ticketize

# Images may exceed [-1, 1] by float rounding only.
_RANGE_SLACK = 1e-3


class ArchitectureError(errors.UserError):
  """A user architecture that cannot be imported, called or used."""


def load(arch: str) -> Callable[..., keras.Model]:
  """Imports ``MODULE`` and returns its ``FUNCTION``.

  Raises:
    ArchitectureError: naming the module or function that is missing.
  """
  module_name, function_name = catalog.check_user_arch(arch).split(":")
  try:
    module = importlib.import_module(module_name)
  except Exception as e:  # pylint: disable=broad-except
    raise ArchitectureError(
        f"arch: cannot import {module_name!r} ({type(e).__name__}: {e}); it "
        "must be importable from the working directory or PYTHONPATH"
        ) from None
  function = getattr(module, function_name, None)
  if not callable(function):
    raise ArchitectureError(f"arch: module {module_name!r} has no function "
                            f"{function_name!r}")
  return function


@contextlib.contextmanager
def _fresh_names():
  """Keras's automatic layer names counted from zero, as in a new process,
  and the counters restored afterwards."""
  try:
    from keras.src.backend.common import global_state  # pylint: disable=g-import-not-at-top
  except ImportError:  # A later Keras: names may then depend on the process.
    yield
    return
  key = "object_name_uids"
  saved = global_state.get_global_attribute(key)
  global_state.set_global_attribute(key, None)
  try:
    yield
  finally:
    global_state.set_global_attribute(key, saved)


def build(arch: str, resolution: int, nz: int, channels: int,
          ticket: TicketOptions, width=None, check_range: bool = True,
          **options) -> keras.Model:
  """The ticketized model of the user's ``arch`` for one run.

  Args:
    arch: ``MODULE:FUNCTION``.
    resolution, nz, channels: passed to the function.
    ticket: the run's ticket options.
    width: passed to the function as ``width`` unless None.
    check_range: check that the ticket's images lie in [-1, 1] (a forward
      pass on two latents).
    **options: none are accepted (the package's architectures' own options).

  Raises:
    ArchitectureError: the function cannot be imported or called, or its
      model does not map (B, nz) to (B, resolution, resolution, channels)
      images in [-1, 1], or cannot be ticketized; the message starts with
      "arch".
  """
  if options:
    raise ArchitectureError(f"{sorted(options)[0]}: not an option of a user "
                            f"architecture ({arch})")
  function = load(arch)
  kwargs = dict(nz=nz, channels=channels, resolution=resolution)
  if width is not None:
    kwargs["width"] = width
  with _fresh_names():
    try:
      model = function(**kwargs)
    except TypeError as e:
      shown = ", ".join(f"{k}={v}" for k, v in kwargs.items())
      raise ArchitectureError(
          f"arch: {arch}({shown}) failed ({e}); the function must take these "
          "keyword arguments (width only when --width is given)") from None
    if not isinstance(model, keras.Model):
      raise ArchitectureError(f"arch: {arch} returned a "
                              f"{type(model).__name__}, not a keras.Model")
    _check_shapes(arch, model, resolution, nz, channels)
    try:
      generator = ticketize(model, options=ticket)
    except ValueError as e:
      raise ArchitectureError(f"arch: {arch}: {e}") from None
  if check_range:
    _check_range(arch, generator, nz)
  return generator


def _check_shapes(arch, model, resolution, nz, channels):
  expected = (None, resolution, resolution, channels)
  inputs = [tuple(t.shape) for t in model.inputs]
  outputs = [tuple(t.shape) for t in model.outputs]
  if (len(inputs) != 1 or inputs[0][1:] != (nz,) or len(outputs) != 1
      or outputs[0][1:] != expected[1:]):
    shown = lambda shapes: ", ".join(str(s) for s in shapes) or "nothing"
    raise ArchitectureError(
        f"arch: {arch} maps {shown(inputs)} to {shown(outputs)}; expected z "
        f"{(None, nz)} to images {expected} (from --nz, --resolution and the "
        "data's channels)")


def _check_range(arch, generator, nz):
  z = np.random.default_rng(0).normal(size=(2, nz)).astype(np.float32)
  images = np.asarray(generator(z, training=False), dtype=np.float32)
  worst = float(np.max(np.abs(images))) if images.size else 0.0
  if not np.isfinite(worst) or worst > 1 + _RANGE_SLACK:
    raise ArchitectureError(
        f"arch: {arch}'s images must lie in [-1, 1] (end it with a tanh); "
        f"its ticket drew values up to {worst:.3g}")
