r"""Finds a strong lottery ticket in a random generator.

  python -m slt_tf.train --flagfile=configs/demo.cfg --workdir=workdirs/demo

The flags are the fields of ``TrainConfig`` (``slt_tf.config_flags``; run
with ``--helpfull`` for the list); the work is ``slt_tf.train_lib.run``.
"""

from absl import app
from absl import flags

from slt_tf import config_flags
from slt_tf import errors
from slt_tf.search import distribution
from slt_tf import train_lib

config_flags.define()
flags.adopt_module_key_flags(config_flags)  # Listed in --helpshort.


def main(argv):
  errors.no_arguments(argv)
  with errors.exit_on_error(flagged=(ValueError,)):
    config = config_flags.config()
  with errors.exit_on_error(plain=(FloatingPointError,
                                   distribution.WorkerLost)):
    # A signal leaves a checkpoint and exits with 128 + its number.
    train_lib.run_to_end(config, flags.FLAGS.flags_into_string())


if __name__ == "__main__":
  app.run(main, flags_parser=errors.parse_flags)
