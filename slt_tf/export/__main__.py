r"""Exports a found ticket for TF Serving, and/or as a compact ticket file.

  python -m slt_tf.export --workdir=workdirs/demo --export_dir=models \
      --model_name=demo [--version=V] [--checkpoint=best|latest|PATH] \
      [--ticket_path=demo.ticket.npz] [--bn_batches=N]
  python -m slt_tf.export --ticket=demo.ticket.npz --export_dir=models \
      --model_name=demo [--arch=MODULE:FUNCTION]

The SavedModel (``EXPORT_DIR/MODEL_NAME/VERSION``) holds the frozen generator
(kernels W*M, batch-norm statistics baked in) with the signatures
``serving_default`` (z [, label] -> uint8 images) and ``sample`` (num_images,
seed -> uint8 images). The compact ticket (seeds + bit-packed masks + batch-norm
statistics) rebuilds a bit-identical SavedModel with ``--ticket``. Batch-norm
statistics re-estimated on the final network (``--bn_batches``, by default the
run's ``--eval_bn_batches``) go into both, with the latents ``evaluate`` uses.
"""

from absl import app
from absl import flags

from slt_tf import errors
from slt_tf.export import command

command.define()
flags.adopt_module_key_flags(command)  # Listed in --helpshort.

main = command.export

if __name__ == "__main__":
  app.run(main, flags_parser=errors.parse_flags)
