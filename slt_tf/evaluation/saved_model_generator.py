"""A TF Serving SavedModel of ``python -m slt_tf.export`` used as a generator,
for evaluating an export as it will be served."""

import json

from absl import logging
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.data import images as images_lib
from slt_tf.errors import RunError


class SavedModelGenerator:
  """A TF Serving SavedModel used as a generator, for evaluating an export.

  The SavedModel must have the ``serving_default`` signature of
  ``python -m slt_tf.export``: input ``z`` (float32, [None, nz]) and, for
  conditional BigGAN, ``label`` (int32, [None]); output ``images`` (uint8,
  [None, H, W, 3]). Images are mapped back to [-1, 1].
  """

  def __init__(self, path: str):
    self.path = path
    try:
      # Held: the signature's variables live only as long as the loaded object.
      self.loaded = tf.saved_model.load(path)
      self.signature = self.loaded.signatures["serving_default"]
    except Exception as e:  # pylint: disable=broad-except
      raise RunError(f"saved_model: {path} is not a SavedModel with "
                     f"a serving_default signature ({e})") from None
    inputs = self.signature.structured_input_signature[1]
    outputs = self.signature.structured_outputs
    if "z" not in inputs or "images" not in outputs:
      raise RunError(
          f"saved_model: {path}: serving_default must take 'z' and return "
          f"'images'; it takes {sorted(inputs)} and returns {sorted(outputs)}")

  def check_run(self, config: TrainConfig, workdir: str) -> None:
    """Refuses an export of another run than ``config``'s.

    Raises:
      RunError: naming ``saved_model`` and the fields that differ.
    """
    stored = getattr(self.loaded, "run_identity", None)
    if stored is None:  # Exported before exports recorded their run.
      logging.warning("saved_model: %s does not record its run; cannot check "
                      "that it comes from %s", self.path, workdir)
      return
    theirs = json.loads(stored.numpy().decode())
    ours = json.loads(config.identity_json())
    differ = sorted(k for k in ours if theirs.get(k) != ours[k])
    if differ:
      raise RunError(f"saved_model: {self.path} was exported from another run "
                     f"than --workdir {workdir} (they differ in "
                     f"{', '.join(differ)})")

  def __call__(self, inputs, training=False):
    del training
    if isinstance(inputs, (list, tuple)):
      out = self.signature(z=inputs[0], label=tf.cast(inputs[1], tf.int32))
    else:
      out = self.signature(z=inputs)
    return images_lib.from_uint8(out["images"])
