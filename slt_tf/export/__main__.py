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

import json
import sys

from absl import app
from absl import flags

from slt_tf import errors
from slt_tf import eval_settings
from slt_tf.export import compact
from slt_tf.export import saved_model
from slt_tf.generators import batch_norm_stats
from slt_tf import workdir

_WORKDIR = flags.DEFINE_string("workdir", None, "The search's workdir.")
_CHECKPOINT = flags.DEFINE_string(
    "checkpoint", None, "'best', 'latest', or a checkpoint prefix; default: "
    "best when the search kept one (--eval_every), else latest, so that the "
    "export is the ticket evaluate reports.")
_TICKET = flags.DEFINE_string(
    "ticket", None, "Export from a compact ticket file instead of a workdir.")
_ARCH = flags.DEFINE_string(
    "arch", None, "With --ticket of a user architecture: its MODULE:FUNCTION, "
    "the one the ticket records (a ticket never imports code by itself).")
_EXPORT_DIR = flags.DEFINE_string(
    "export_dir", None, "TF Serving base path; the model goes to "
    "EXPORT_DIR/MODEL_NAME/VERSION.")
_MODEL_NAME = flags.DEFINE_string("model_name", None, "TF Serving model name.")
_VERSION = flags.DEFINE_integer("version", None,
                                "Version number (default: the next one).")
_TICKET_PATH = flags.DEFINE_string(
    "ticket_path", None, "Also write the compact ticket (.npz) here.")
_BN_BATCHES = flags.DEFINE_integer(
    "bn_batches", None, "Re-estimate the batch-norm moving statistics on this "
    "many batches of fresh latents before exporting, as evaluate does "
    "(default: the run's --eval_bn_batches, so that the export generates what "
    "was evaluated; 0: the checkpoint's).")


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]}")
  if bool(_WORKDIR.value) == bool(_TICKET.value):
    sys.exit("error: --workdir or --ticket is required (exactly one)")
  if not (_EXPORT_DIR.value or _TICKET_PATH.value):
    sys.exit("error: --export_dir (with --model_name) or --ticket_path is "
             "required")
  if _EXPORT_DIR.value and not _MODEL_NAME.value:
    sys.exit("error: --model_name is required with --export_dir")
  with errors.exit_on_error(flagged=(ValueError,)):
    eval_settings.check(bn_batches=_BN_BATCHES.value)
  report = {}
  with errors.exit_on_error():
    if _TICKET.value:
      if _TICKET_PATH.value:
        sys.exit("error: --ticket_path needs --workdir (the ticket exists)")
      if _BN_BATCHES.value:
        sys.exit("error: --bn_batches needs --workdir (a ticket holds the "
                 "statistics it was written with)")
      generator, config, masks = compact.read_ticket(_TICKET.value,
                                                     _ARCH.value)
    else:
      if _ARCH.value:
        sys.exit("error: --arch needs --ticket (a workdir records its own)")
      config = workdir.read_config(_WORKDIR.value)
      path = workdir.resolve_checkpoint(_WORKDIR.value,
                                        workdir.default_checkpoint(
                                            _WORKDIR.value, _CHECKPOINT.value))
      generator, masks = workdir.restore_generator(config, path), None
      report["checkpoint"] = path
      bn = (config.eval_bn_batches if _BN_BATCHES.value is None
            else _BN_BATCHES.value)
      if bn:
        batch_norm_stats.reestimate(generator, bn, config.batch_size,
                                    config.latent_size, config.num_classes)
      report["bn_batches"] = bn
      if _TICKET_PATH.value:
        report["ticket"] = dict(path=_TICKET_PATH.value, **compact.write_ticket(
            generator, config, _TICKET_PATH.value))
    if _EXPORT_DIR.value:
      frozen = saved_model.freeze(generator, masks)
      report["saved_model"] = saved_model.describe_export(
          saved_model.export_saved_model(frozen, config, _EXPORT_DIR.value,
                                        _MODEL_NAME.value, _VERSION.value))
  print(json.dumps(report, indent=2))


if __name__ == "__main__":
  app.run(main, flags_parser=errors.parse_flags)
