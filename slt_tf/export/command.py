"""``python -m slt_tf.export``'s flags and body (``define``, ``export``): a
run's ticket as a TF Serving SavedModel (``saved_model``) and/or a compact
ticket (``compact``), or a compact ticket back into a SavedModel."""

import json
import sys

from absl import flags

from slt_tf import errors
from slt_tf import eval_settings
from slt_tf.export import compact
from slt_tf.export import saved_model
from slt_tf.generators import batch_norm_stats
from slt_tf import workdir

FLAGS = flags.FLAGS


def define() -> None:
  """The export's flags."""
  flags.DEFINE_string("workdir", None, "The search's workdir.")
  flags.DEFINE_string(
      "checkpoint", None, "'best', 'latest', or a checkpoint prefix; default: "
      "best when the search kept one (--eval_every), else latest, so that the "
      "export is the ticket evaluate reports.")
  flags.DEFINE_string(
      "ticket", None, "Export from a compact ticket file instead of a workdir.")
  flags.DEFINE_string(
      "arch", None, "With --ticket of a user architecture: its MODULE:FUNCTION, "
      "the one the ticket records (a ticket never imports code by itself).")
  flags.DEFINE_string(
      "export_dir", None, "TF Serving base path; the model goes to "
      "EXPORT_DIR/MODEL_NAME/VERSION.")
  flags.DEFINE_string("model_name", None, "TF Serving model name.")
  flags.DEFINE_integer("version", None,
                       "Version number (default: the next one).")
  flags.DEFINE_string(
      "ticket_path", None, "Also write the compact ticket (.npz) here.")
  flags.DEFINE_integer(
      "bn_batches", None, "Re-estimate the batch-norm moving statistics on this "
      "many batches of fresh latents before exporting, as evaluate does "
      "(default: the run's --eval_bn_batches, so that the export generates what "
      "was evaluated; 0: the checkpoint's).")


def export(argv) -> None:
  """The body of ``python -m slt_tf.export``."""
  errors.no_arguments(argv)
  if bool(FLAGS.workdir) == bool(FLAGS.ticket):
    sys.exit("error: --workdir or --ticket is required (exactly one)")
  if not (FLAGS.export_dir or FLAGS.ticket_path):
    sys.exit("error: --export_dir (with --model_name) or --ticket_path is "
             "required")
  if FLAGS.export_dir and not FLAGS.model_name:
    sys.exit("error: --model_name is required with --export_dir")
  with errors.exit_on_error(flagged=(ValueError,)):
    eval_settings.check(bn_batches=FLAGS.bn_batches)
  report = {}
  with errors.exit_on_error():
    if FLAGS.ticket:
      if FLAGS.ticket_path:
        sys.exit("error: --ticket_path needs --workdir (the ticket exists)")
      if FLAGS.bn_batches:
        sys.exit("error: --bn_batches needs --workdir (a ticket holds the "
                 "statistics it was written with)")
      generator, config, masks = compact.read_ticket(FLAGS.ticket,
                                                     FLAGS.arch)
    else:
      if FLAGS.arch:
        sys.exit("error: --arch needs --ticket (a workdir records its own)")
      config = workdir.read_config(FLAGS.workdir)
      path = workdir.resolve_checkpoint(FLAGS.workdir,
                                        workdir.default_checkpoint(
                                            FLAGS.workdir, FLAGS.checkpoint))
      generator, masks = workdir.restore_generator(config, path), None
      report["checkpoint"] = path
      bn = (config.eval.bn_batches if FLAGS.bn_batches is None
            else FLAGS.bn_batches)
      if bn:
        batch_norm_stats.reestimate(generator, bn, config.optim.batch_size,
                                    config.model.latent_size, config.model.num_classes)
      report["bn_batches"] = bn
      if FLAGS.ticket_path:
        report["ticket"] = dict(path=FLAGS.ticket_path, **compact.write_ticket(
            generator, config, FLAGS.ticket_path))
    if FLAGS.export_dir:
      frozen = saved_model.freeze(generator, masks)
      report["saved_model"] = saved_model.describe_export(
          saved_model.export_saved_model(frozen, config, FLAGS.export_dir,
                                        FLAGS.model_name, FLAGS.version))
  print(json.dumps(report, indent=2))
