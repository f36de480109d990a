r"""Converts torchvision's ``vgg19_bn`` weights to the ``.npz`` slt_tf loads.

  pip install torch   # only for this conversion
  python -m slt_tf.features.convert --input=vgg19_bn-c79401a0.pth \
      --output=weights/vgg19_bn.npz

The ``.npz`` holds the state-dict arrays under their torchvision keys
(``features.0.weight``, ...); ``slt_tf.features.vgg`` transposes the kernels
when loading. Any mapping of those keys to arrays converts the same way, so a
state dict saved with NumPy works without torch.
"""

import sys

from absl import app
from absl import flags
import numpy as np

from slt_tf.features import vgg
from slt_tf import fileio

_INPUT = flags.DEFINE_string("input", None, "torchvision vgg19_bn state dict "
                             "(.pth/.pt, needs torch) or .npz with its keys.")
_OUTPUT = flags.DEFINE_string("output", None, "Output .npz path.")


def state_dict_arrays(state_dict) -> dict:
  """The float32 arrays of the keys slt_tf uses, checked against the layout.

  Args:
    state_dict: mapping from torchvision key to array or torch tensor.

  Raises:
    ValueError: a key is missing or has the wrong shape.
  """
  arrays = {}
  for key in vgg.torchvision_keys():
    if key not in state_dict:
      raise ValueError(f"missing {key!r}: not a torchvision vgg19_bn state dict")
    value = state_dict[key]
    value = value.detach().cpu().numpy() if hasattr(value, "detach") else value
    arrays[key] = np.asarray(value, np.float32)
  model = vgg.vgg19_bn(32)  # Checks every shape against the Keras layout.
  vgg.load_torchvision_arrays(model, arrays, "state dict")
  return arrays


def _read(path: str):
  if path.endswith(".npz"):
    with np.load(path, allow_pickle=False) as f:
      return {k: f[k] for k in f.files}
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise ValueError("reading a .pth file needs torch (pip install torch)"
                     ) from None
  state = torch.load(path, map_location="cpu", weights_only=True)
  return state.get("state_dict", state)


def main(argv):
  del argv
  if not _INPUT.value or not _OUTPUT.value:
    sys.exit("error: --input and --output are required")
  try:
    arrays = state_dict_arrays(_read(_INPUT.value))
  except (OSError, ValueError) as e:
    sys.exit(f"error: --input={_INPUT.value}: {e}")
  fileio.write_npz(_OUTPUT.value, arrays)
  print(f"wrote {len(arrays)} arrays to {_OUTPUT.value}")


if __name__ == "__main__":
  app.run(main)
