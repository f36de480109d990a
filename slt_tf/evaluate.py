r"""Evaluates a found ticket: FID, KID, precision/recall/density/coverage.

  python -m slt_tf.evaluate --workdir=workdirs/demo [--eval_samples=N]

Reads the run's ``config.json``, restores the best checkpoint the search kept
(``--eval_every``; else the latest; ``--checkpoint=latest`` / a prefix for
another), compares N generated images with N images of a held-out split
through a named backbone, and writes ``eval/<role>/step_N.json`` (the role of
the split: ``report`` by default) and TensorBoard scalars under the workdir.
"""

from absl import app
from absl import flags

from slt_tf import errors
from slt_tf.evaluation import command

command.define()
flags.adopt_module_key_flags(command)  # Listed in --helpshort.

main = command.evaluate

if __name__ == "__main__":
  app.run(main, flags_parser=errors.parse_flags)
