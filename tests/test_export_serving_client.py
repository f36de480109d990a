"""The serving client and the example requests, against the exported model.

No tensorflow_model_server binary can be obtained on these machines, so the
server side is a stand-in: a local HTTP server and a real gRPC server (grpcio,
TF Serving's own PredictionService protos) on 127.0.0.1 that run the exported
SavedModel's signatures the way TF Serving does. The client code under test is
the real one, over real sockets.
"""

from concurrent import futures
import http.server
import json
import os
import re
import threading

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from slt_tf.export import saved_model
from slt_tf.export import serving_client
from slt_tf import train_lib
from slt_tf import workdir as workdir_lib
import testutil

EXAMPLES = os.path.join(testutil.REPO, "serving", "requests")


def run_signature(loaded, name, inputs):
  """Feeds named inputs (lists or arrays) to a signature with its dtypes."""
  signature = loaded.signatures[name]
  specs = signature.structured_input_signature[1]
  feed = {k: tf.constant(v, dtype=specs[k].dtype) for k, v in inputs.items()}
  return signature(**feed)["images"].numpy()


class ServingClientTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    base = testutil.shared_dir("serving")
    config = testutil.tiny_config(os.path.join(base, "run"), train_steps=1)
    if not os.path.exists(os.path.join(config.workdir, "result.json")):
      train_lib.run(config)
    frozen = saved_model.freeze(workdir_lib.restore_generator(config))
    cls.model_dir = saved_model.export_saved_model(
        frozen, config, base, "demo",
        saved_model.next_version(os.path.join(base, "demo")))
    cls.loaded = tf.saved_model.load(cls.model_dir)

  def testExampleRequestBodies_RunThroughTheSignatures(self):
    for name, count in (("serving_default.json", 2), ("sample.json", 4)):
      with open(os.path.join(EXAMPLES, name)) as f:
        body = json.load(f)
      images = run_signature(self.loaded, body["signature_name"],
                             body["inputs"])
      self.assertEqual((images.dtype, images.shape),
                       (np.uint8, (count, 32, 32, 1)), name)  # Gray digits.
    self.assertEqual(serving_client.rest_body("sample", num_images=4, seed=0),
                     json.load(open(os.path.join(EXAMPLES, "sample.json"))))

  def testRest_AgainstALocalStandInServer(self):
    loaded, requests = self.loaded, []

    class Handler(http.server.BaseHTTPRequestHandler):

      def do_POST(self):  # pylint: disable=invalid-name
        requests.append(self.path)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        match = re.fullmatch(r"/v1/models/demo(/versions/\d+)?:predict",
                             self.path)
        if not match:
          self.send_response(404)
          self.end_headers()
          self.wfile.write(b'{"error": "Servable not found"}')
          return
        images = run_signature(loaded, body["signature_name"], body["inputs"])
        payload = json.dumps({"outputs": images.tolist()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

      def log_message(self, *args):
        del args

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
      url = f"http://127.0.0.1:{server.server_port}"
      images = serving_client.predict_rest(
          url, "demo", serving_client.rest_body("sample", num_images=3,
                                                seed=5), version=1)
      expected = run_signature(self.loaded, "sample",
                               {"num_images": 3, "seed": 5})
      self.assertAllEqual(images, expected)
      self.assertEqual(requests, ["/v1/models/demo/versions/1:predict"])
      with self.assertRaisesRegex(RuntimeError, "404.*Servable not found"):
        serving_client.predict_rest(url, "other", {"inputs": {}})

      out = os.path.join(self.get_temp_dir(), "grid.png")
      result = testutil.run_module(
          "slt_tf.export.serving_client", f"--rest={url}", "--model=demo",
          "--num_images=4", f"--out={out}")
      self.assertEqual(result.returncode, 0, result.stderr[-2000:])
      grid = tf.io.decode_png(open(out, "rb").read())
      self.assertEqual(grid.shape, (2 * 34 + 2, 2 * 34 + 2, 1))
    finally:
      server.shutdown()

  def testGrpc_AgainstARealPredictionServiceServer(self):
    loaded = self.loaded

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):

      def Predict(self, request, context):  # pylint: disable=invalid-name
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        images = run_signature(loaded, request.model_spec.signature_name,
                               inputs)
        response = predict_pb2.PredictResponse()
        response.outputs["images"].CopyFrom(tf.make_tensor_proto(images))
        return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
      z = np.random.default_rng(1).normal(size=(2, 100)).astype(np.float32)
      request = serving_client.grpc_request("demo", "serving_default", z=z)
      self.assertEqual(request.inputs["z"].dtype, tf.float32.as_datatype_enum)
      images = serving_client.predict_grpc(f"127.0.0.1:{port}", request)
      self.assertAllEqual(images, run_signature(self.loaded, "serving_default",
                                                {"z": z}))
      sample = serving_client.grpc_request("demo", "sample", version=1,
                                           num_images=2, seed=9)
      self.assertEqual((sample.model_spec.version.value,
                        sample.inputs["seed"].dtype),
                       (1, tf.int64.as_datatype_enum))
      self.assertAllEqual(
          serving_client.predict_grpc(f"127.0.0.1:{port}", sample),
          run_signature(self.loaded, "sample", {"num_images": 2, "seed": 9}))
    finally:
      server.stop(None)


if __name__ == "__main__":
  tf.test.main()
