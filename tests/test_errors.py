"""The entry points' one-line errors (their use: tests/e2e)."""

import tensorflow as tf

from slt_tf import errors


class ExitOnErrorTest(tf.test.TestCase):

  def _exit_message(self, error, **kwargs):
    with self.assertRaises(SystemExit) as caught:
      with errors.exit_on_error(**kwargs):
        raise error
    return caught.exception.code

  def testUserErrors_OneLineNamingTheFlag(self):
    self.assertEqual(self._exit_message(errors.DataError("dataset x: gone")),
                     "error: --dataset x: gone")
    self.assertEqual(self._exit_message(ValueError("width must be > 0"),
                                        flagged=(ValueError,)),
                     "error: --width must be > 0")
    self.assertEqual(self._exit_message(FloatingPointError("loss is NaN"),
                                        plain=(FloatingPointError,)),
                     "error: loss is NaN")

  def testOtherErrors_PropagateWithTheirTraceback(self):
    with self.assertRaisesRegex(ValueError, "^a bug$"):
      with errors.exit_on_error(plain=(FloatingPointError,)):
        raise ValueError("a bug")
    with self.assertRaises(KeyError):
      with errors.exit_on_error(flagged=(ValueError,)):
        raise KeyError("k")
    with errors.exit_on_error():
      value = 1
    self.assertEqual(value, 1)


if __name__ == "__main__":
  tf.test.main()
