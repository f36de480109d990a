r"""A small client for a ticket served by TF Serving (REST and gRPC).

  python -m slt_tf.export.serving_client --rest=http://localhost:8501 --model=demo \
      --num_images=16 --seed=0 --out=grid.png
  python -m slt_tf.export.serving_client --grpc=localhost:8500 --model=demo \
      --num_images=16 --out=grid.png

Both ask the model's ``sample`` signature for images (no latents are sent);
``--latents`` sends random latents to ``serving_default`` instead. The REST
part needs only the standard library and NumPy; the gRPC part needs
``tensorflow-serving-api`` (the ``serving`` extra).
"""

import json
import sys
import urllib.error
import urllib.request
from typing import Optional

from absl import app
from absl import flags
import numpy as np

_REST = flags.DEFINE_string("rest", None, "REST base URL, e.g. "
                            "http://localhost:8501.")
_GRPC = flags.DEFINE_string("grpc", None, "gRPC target, e.g. localhost:8500.")
_MODEL = flags.DEFINE_string("model", None, "Model name in TF Serving.")
_VERSION = flags.DEFINE_integer("version", None, "Model version (default: "
                                "the server's latest).")
_NUM_IMAGES = flags.DEFINE_integer("num_images", 16, "Images to ask for.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the sample signature.")
_LATENTS = flags.DEFINE_integer(
    "latents", 0, "Send this many N(0, 1) latents of this size to "
    "serving_default instead of calling sample (0: use sample).")
_OUT = flags.DEFINE_string("out", "samples.png", "Where to write the grid.")
_TIMEOUT = flags.DEFINE_float("timeout", 60.0, "Seconds per request.")


# -- REST ---------------------------------------------------------------------


def rest_body(signature: str, **inputs) -> dict:
  """A predict request body in TF Serving's columnar ("inputs") format.

  Args:
    signature: "serving_default" or "sample".
    **inputs: input name -> array or scalar (z, label, num_images, seed).
  """
  return {"signature_name": signature,
          "inputs": {k: np.asarray(v).tolist() for k, v in inputs.items()}}


def rest_url(base: str, model: str, version: Optional[int] = None) -> str:
  """``BASE/v1/models/MODEL[/versions/V]:predict``."""
  path = f"/v1/models/{model}" + (f"/versions/{version}" if version else "")
  return base.rstrip("/") + path + ":predict"


def parse_rest(response: dict) -> np.ndarray:
  """The uint8 images of a columnar REST response.

  TF Serving returns ``{"outputs": value}`` for a single-output signature and
  ``{"outputs": {name: value}}`` for several.
  """
  if "error" in response:
    raise RuntimeError(f"TF Serving error: {response['error']}")
  outputs = response["outputs"]
  if isinstance(outputs, dict):
    outputs = outputs["images"]
  return np.asarray(outputs, np.uint8)


def predict_rest(base: str, model: str, body: dict,
                 version: Optional[int] = None,
                 timeout: float = 60.0) -> np.ndarray:
  """POSTs ``body`` to the model's predict endpoint; returns the images."""
  request = urllib.request.Request(
      rest_url(base, model, version), data=json.dumps(body).encode(),
      headers={"Content-Type": "application/json"}, method="POST")
  try:
    with urllib.request.urlopen(request, timeout=timeout) as response:
      return parse_rest(json.load(response))
  except urllib.error.HTTPError as e:
    raise RuntimeError(f"TF Serving answered {e.code}: "
                       f"{e.read().decode(errors='replace')}") from None


# -- gRPC ---------------------------------------------------------------------


def grpc_request(model: str, signature: str, version: Optional[int] = None,
                 **inputs):
  """A ``tensorflow_serving.apis.predict_pb2.PredictRequest``.

  Inputs are converted with their TensorFlow dtypes: z float32, label and
  num_images int32, seed int64.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tensorflow_serving.apis import predict_pb2  # pylint: disable=import-outside-toplevel
  dtypes = {"z": tf.float32, "label": tf.int32, "num_images": tf.int32,
            "seed": tf.int64}
  request = predict_pb2.PredictRequest()
  request.model_spec.name = model
  request.model_spec.signature_name = signature
  if version:
    request.model_spec.version.value = version
  for name, value in inputs.items():
    request.inputs[name].CopyFrom(
        tf.make_tensor_proto(value, dtype=dtypes.get(name)))
  return request


def parse_grpc(response) -> np.ndarray:
  """The uint8 images of a ``PredictResponse``."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return tf.make_ndarray(response.outputs["images"]).astype(np.uint8)


def predict_grpc(target: str, request, timeout: float = 60.0) -> np.ndarray:
  """Sends ``request`` to TF Serving's PredictionService at ``target``."""
  import grpc  # pylint: disable=import-outside-toplevel
  from tensorflow_serving.apis import prediction_service_pb2_grpc  # pylint: disable=import-outside-toplevel
  with grpc.insecure_channel(target) as channel:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    return parse_grpc(stub.Predict(request, timeout=timeout))


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]}")
  if bool(_REST.value) == bool(_GRPC.value):
    sys.exit("error: --rest or --grpc is required (exactly one)")
  if not _MODEL.value:
    sys.exit("error: --model is required")
  if _NUM_IMAGES.value < 1:
    sys.exit(f"error: --num_images must be >= 1, got {_NUM_IMAGES.value}")
  if _LATENTS.value:
    z = np.random.default_rng(_SEED.value).normal(
        size=(_NUM_IMAGES.value, _LATENTS.value)).astype(np.float32)
    signature, inputs = "serving_default", {"z": z}
  else:
    signature = "sample"
    inputs = {"num_images": _NUM_IMAGES.value, "seed": _SEED.value}
  try:
    if _REST.value:
      images = predict_rest(_REST.value, _MODEL.value,
                            rest_body(signature, **inputs), _VERSION.value,
                            _TIMEOUT.value)
    else:
      images = predict_grpc(_GRPC.value, grpc_request(
          _MODEL.value, signature, _VERSION.value, **inputs), _TIMEOUT.value)
  except (OSError, RuntimeError) as e:
    sys.exit(f"error: --{'rest' if _REST.value else 'grpc'}: {e}")
  except Exception as e:  # pylint: disable=broad-except
    # grpc.RpcError and friends, without importing grpc for REST users.
    sys.exit(f"error: --grpc: {type(e).__name__}: {e}")
  from slt_tf.data import images as images_lib  # pylint: disable=import-outside-toplevel
  images_lib.write_png(_OUT.value, images_lib.make_grid(images))
  print(f"wrote {images.shape[0]} images to {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
