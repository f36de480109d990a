"""Sample grids, the [-1, 1] <-> uint8 conversion and atomic PNG writing."""

import os

import numpy as np
import tensorflow as tf

from slt_tf.data import images


class ImagesTest(tf.test.TestCase):

  def testMakeGrid_PlacesTilesLikeNumpyReference(self):
    batch = np.random.default_rng(0).integers(0, 255, (5, 4, 3, 3), np.uint8)
    grid = images.make_grid(batch, columns=2, padding=1)
    self.assertEqual(grid.shape, (3 * 5 + 1, 2 * 4 + 1, 3))
    for i in range(5):
      r, c = divmod(i, 2)
      np.testing.assert_array_equal(
          grid[1 + r * 5:1 + r * 5 + 4, 1 + c * 4:1 + c * 4 + 3], batch[i])
    self.assertEqual(grid[0].max(), 0)

  def testToRgbAndToChannels_MatchNumPy(self):
    gray = np.random.default_rng(0).uniform(-1, 1, (2, 4, 5, 1)).astype(
        np.float32)
    rgb = images.to_rgb(gray).numpy()
    np.testing.assert_array_equal(rgb, np.repeat(gray, 3, axis=-1))
    colour = np.random.default_rng(1).uniform(-1, 1, (2, 4, 5, 3)).astype(
        np.float32)
    np.testing.assert_array_equal(images.to_rgb(colour).numpy(), colour)
    np.testing.assert_allclose(images.to_channels(colour, 1).numpy(),
                               colour.mean(-1, keepdims=True), rtol=1e-6)
    # Gray data stored as 3 equal channels come back as themselves.
    np.testing.assert_allclose(images.to_channels(rgb, 1).numpy(), gray,
                               rtol=1e-6)
    np.testing.assert_array_equal(images.to_channels(gray, 3).numpy(), rgb)

  def testToUint8_MapsRangeEnds(self):
    np.testing.assert_array_equal(images.to_uint8([-1.0, 0.0, 1.0, 7.0]),
                                  [0, 128, 255, 255])

  def testWritePng_Atomic_RoundTrips(self):
    path = os.path.join(self.get_temp_dir(), "sub", "x.png")
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    images.write_png(path, image)
    self.assertEqual(os.listdir(os.path.dirname(path)), ["x.png"])
    np.testing.assert_array_equal(
        tf.io.decode_png(open(path, "rb").read()).numpy(), image)


if __name__ == "__main__":
  tf.test.main()
