"""Feature extractors: VGG19-BN against a NumPy forward pass, weight loading,
the converter, Keras's VGG19 from a file, and the cached classifier."""

import os

import keras
import numpy as np
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.data import cache
from slt_tf import features
from slt_tf.features import classifier
from slt_tf.features import convert
from slt_tf.features import vgg
from slt_tf import fileio
import testutil


def random_state_dict(seed=0):
  """Random torchvision-layout vgg19_bn arrays (He-scaled), plus extra keys."""
  rng = np.random.default_rng(seed)
  state, index, cin = {}, 0, 3
  for c in vgg.VGG19_CFG:
    if c == "M":
      index += 1
      continue
    state[f"features.{index}.weight"] = rng.normal(
        0, np.sqrt(2 / (9 * cin)), (c, cin, 3, 3)).astype(np.float32)
    state[f"features.{index}.bias"] = rng.normal(0, 0.1, c).astype(np.float32)
    bn = f"features.{index + 1}"
    state[f"{bn}.weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
    state[f"{bn}.bias"] = rng.normal(0, 0.1, c).astype(np.float32)
    state[f"{bn}.running_mean"] = rng.normal(0, 0.5, c).astype(np.float32)
    state[f"{bn}.running_var"] = rng.uniform(0.5, 3, c).astype(np.float32)
    state[f"{bn}.num_batches_tracked"] = np.array(7)
    index, cin = index + 3, c
  state["classifier.0.weight"] = np.zeros((2, 2), np.float32)
  return state


def numpy_vgg19_bn(images, state, bn_mode):
  """Reference forward pass in NumPy (NHWC), torchvision semantics."""
  mean = np.array(vgg.IMAGENET_MEAN)
  std = np.array(vgg.IMAGENET_STD)
  x = ((images.astype(np.float64) + 1) / 2 - mean) / std
  outputs, index = [], 0
  for c in vgg.VGG19_CFG:
    if c == "M":
      b, h, w, ch = x.shape
      x = x.reshape(b, h // 2, 2, w // 2, 2, ch).max(axis=(2, 4))
      index += 1
      continue
    weight = state[f"features.{index}.weight"].astype(np.float64)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    h, w = x.shape[1:3]
    patches = np.stack([padded[:, i:i + h, j:j + w] for i in range(3)
                        for j in range(3)], axis=3)  # (b, h, w, 9, cin)
    kernel = weight.transpose(2, 3, 1, 0).reshape(9, weight.shape[1], c)
    x = np.einsum("bhwkc,kco->bhwo", patches, kernel)
    x = x + state[f"features.{index}.bias"]
    bn = f"features.{index + 1}"
    if bn_mode == "batch":
      mu, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    else:
      mu, var = state[f"{bn}.running_mean"], state[f"{bn}.running_var"]
    x = (x - mu) / np.sqrt(var + 1e-5) * state[f"{bn}.weight"] + \
        state[f"{bn}.bias"]
    x = np.maximum(x, 0)
    outputs.append(x.reshape(x.shape[0], -1))
    index += 3
  return np.concatenate(outputs, axis=1)


class Vgg19BnTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.state = random_state_dict()
    cls.weights = os.path.join(testutil.shared_dir("weights"), "vgg19_bn.npz")
    fileio.write_npz(cls.weights, convert.state_dict_arrays(cls.state))

  def testFeatureDim_MatchesThePaper(self):
    self.assertEqual(vgg.feature_dim(32), 303_104)
    self.assertEqual(vgg.feature_dim(64), 1_212_416)

  def testBothBatchNormModes_MatchNumPyForwardPass(self):
    images = np.random.default_rng(1).uniform(-1, 1, (3, 32, 32, 3))
    for mode in ("batch", "inference"):
      extractor = features.build("vgg19_bn", 32, self.weights, mode)
      self.assertEqual(extractor.feature_dim, 303_104)
      got = extractor.model(tf.constant(images, tf.float32)).numpy()
      expected = numpy_vgg19_bn(images, self.state, mode)
      scale = np.abs(expected).max()
      self.assertAllClose(got / scale, expected / scale, atol=2e-5)
      self.assertEqual(extractor.model.trainable_weights, [])

  def testConverterCli_NpzRoundTripAndIdentity(self):
    source = os.path.join(self.get_temp_dir(), "state.npz")
    np.savez(source, **self.state)
    out = os.path.join(self.get_temp_dir(), "converted.npz")
    result = testutil.run_module("slt_tf.features.convert", f"--input={source}",
                                 f"--output={out}")
    self.assertEqual(result.returncode, 0, result.stderr)
    with np.load(out) as converted:
      self.assertCountEqual(converted.files, vgg.torchvision_keys())
    a = features.build("vgg19_bn", 32, out)
    b = features.build("vgg19_bn", 32, self.weights)
    self.assertEqual(a.weights_id, b.weights_id)  # Same bytes, same digest.

  def testBadStateDict_ErrorsNameTheKey(self):
    state = dict(self.state)
    del state["features.3.weight"]
    with self.assertRaisesRegex(ValueError, "missing 'features.3.weight'"):
      convert.state_dict_arrays(state)
    state = dict(self.state)
    state["features.0.bias"] = np.zeros(3, np.float32)
    with self.assertRaisesRegex(ValueError, "'features.0.bias' has shape"):
      convert.state_dict_arrays(state)
    bad = os.path.join(self.get_temp_dir(), "bad.npz")
    np.savez(bad, nothing=np.zeros(1))
    with self.assertRaisesRegex(features.WeightsError,
                                "^feature_weights: .*bad.npz.*missing"):
      features.build("vgg19_bn", 32, bad)

  def testTorchVgg19Bn_SameFeatures(self):
    """Skipped unless torch is installed (it is not a dependency)."""
    try:
      import torch  # pylint: disable=g-import-not-at-top
    except ImportError:
      self.skipTest("torch is not installed")
    layers, cin = [], 3
    for c in vgg.VGG19_CFG:
      if c == "M":
        layers.append(torch.nn.MaxPool2d(2))
      else:
        layers += [torch.nn.Conv2d(cin, c, 3, padding=1),
                   torch.nn.BatchNorm2d(c), torch.nn.ReLU()]
        cin = c
    net = torch.nn.Sequential(*layers).eval()
    net.load_state_dict({k[len("features."):]: torch.tensor(v) for k, v in
                         self.state.items() if k.startswith("features.")})
    images = np.random.default_rng(2).uniform(-1, 1, (2, 32, 32, 3))
    x = (torch.tensor(images, dtype=torch.float32).permute(0, 3, 1, 2) + 1) / 2
    x = (x - torch.tensor(vgg.IMAGENET_MEAN)[:, None, None]) / torch.tensor(
        vgg.IMAGENET_STD)[:, None, None]
    taps = []
    with torch.no_grad():
      for layer in net:
        x = layer(x)
        if isinstance(layer, torch.nn.ReLU):
          taps.append(x.permute(0, 2, 3, 1).reshape(2, -1))
    expected = torch.cat(taps, 1).numpy()
    got = features.build("vgg19_bn", 32, self.weights, "inference").model(
        tf.constant(images, tf.float32)).numpy()
    self.assertAllClose(got, expected, rtol=1e-3, atol=1e-3)


class FeatureLayersTest(tf.test.TestCase):

  def testSubset_EqualsTheMatchingColumnsOfAllFeatures(self):
    full = features.build("vgg19_bn", 32, features.RANDOM, seed=3)
    subset = features.build("vgg19_bn", 32, features.RANDOM, seed=3,
                            layers=(16, 1, 2))
    self.assertEqual(subset.layers, (1, 2, 16))
    images = tf.random.stateless_uniform([3, 32, 32, 3], [0, 1], -1, 1)
    everything = full.model(images).numpy()
    first_two = 2 * 64 * 32 * 32
    last = 512 * 2 * 2
    self.assertEqual(subset.feature_dim, first_two + last)
    self.assertAllClose(subset.model(images).numpy(),
                        np.concatenate([everything[:, :first_two],
                                        everything[:, -last:]], axis=1),
                        rtol=1e-5, atol=1e-5)
    self.assertIn("layers", subset.cache_identity())
    self.assertNotIn("layers", full.cache_identity())
    # Layers after the last chosen one are not part of the model.
    early = features.build("vgg19_bn", 32, features.RANDOM, layers=(1, 2))
    self.assertLess(len(early.model.layers), 12)

  def testOutOfRange_ErrorNamesTheFlag(self):
    with self.assertRaisesRegex(ValueError, r"^feature_layers must be in "
                                r"1\.\.16"):
      TrainConfig.make(workdir="w", features="vgg19_bn", feature_layers=(17,))
    with self.assertRaisesRegex(ValueError, r"^feature_layers must be in "
                                r"1\.\.3"):
      TrainConfig.make(workdir="w", features="classifier", feature_layers=(0,))


class WeightsArgumentTest(tf.test.TestCase):

  def testMissingOrAbsentWeights_OneLineWeightsError(self):
    with self.assertRaisesRegex(features.WeightsError,
                                "^feature_weights is required"):
      features.check_weights("vgg19_bn", None)
    with self.assertRaisesRegex(features.WeightsError, "no such file"):
      features.check_weights("vgg19_bn", "/nonexistent/vgg.npz")
    with self.assertRaisesRegex(features.WeightsError, "^features must be"):
      features.check_weights("alexnet", "random")
    features.check_weights("vgg19", "imagenet")  # Allowed (downloads).

  def testKerasVgg19FromFile_16ConvOutputsOfTheLoadedWeights(self):
    keras.utils.set_random_seed(3)
    base = keras.applications.VGG19(include_top=False, weights=None,
                                    input_shape=(32, 32, 3))
    path = os.path.join(self.get_temp_dir(), "vgg19_notop.weights.h5")
    base.save_weights(path)
    extractor = features.build("vgg19", 32, path)
    self.assertEqual(extractor.feature_dim, vgg.feature_dim(32))
    images = np.random.default_rng(4).uniform(-1, 1, (2, 32, 32, 3))
    bgr = (images[..., ::-1] + 1) * 127.5 - np.array([103.939, 116.779,
                                                      123.68])
    convs = [l for l in base.layers if isinstance(l, keras.layers.Conv2D)]
    taps = keras.Model(base.input, [l.output for l in convs])(
        tf.constant(bgr, tf.float32))
    expected = np.concatenate([t.numpy().reshape(2, -1) for t in taps], 1)
    got = extractor.model(tf.constant(images, tf.float32)).numpy()
    self.assertAllClose(got, expected, rtol=1e-4, atol=1e-4)


class ClassifierTest(tf.test.TestCase):

  def testTrainedOnce_AccurateCachedAndLoadable(self):
    cache_dir = self.get_temp_dir()
    path, info = classifier.ensure_trained("mnist_embedded", 32, 0, cache_dir,
                                           testutil.data_dir())
    self.assertGreater(info["test_accuracy"], 0.9)  # Real held-out digits.
    mtime = os.path.getmtime(path)
    again, info_again = classifier.ensure_trained(
        "mnist_embedded", 32, 0, cache_dir, testutil.data_dir())
    self.assertEqual((again, os.path.getmtime(again)), (path, mtime))
    self.assertEqual(info_again, info)
    extractor = features.build("classifier", 32, path)
    self.assertEqual(extractor.feature_dim, 32 * 32 * 32 + 64 * 16 * 16 +
                     128 * 8 * 8)
    self.assertEqual(extractor.model.trainable_weights, [])
    other_seed = classifier.cache_key("mnist_embedded", 32, 1)
    self.assertNotEqual(
        cache.entry_path(cache_dir, "classifier", other_seed), path)


if __name__ == "__main__":
  tf.test.main()
