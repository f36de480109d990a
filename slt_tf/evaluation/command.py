"""``python -m slt_tf.evaluate``'s flags and body (``define``,
``evaluate``): a run's checkpoint or export evaluated on a held-out split
(``evaluator.evaluate_workdir``)."""

import json
import sys

from absl import flags

from slt_tf import errors
from slt_tf import eval_settings
from slt_tf.evaluation import backbones
from slt_tf.evaluation import evaluator as evaluator_lib
from slt_tf.eval_settings import DEFAULT_SAMPLES
from slt_tf import workdir as workdir_lib

FLAGS = flags.FLAGS


def define() -> None:
  """The evaluation's flags: the search's names for the same settings
  (``--eval_samples``, ``--eval_backbone``, ...; ``slt_tf.eval_settings``),
  so that a flag means one thing in every command; the older short names
  remain as aliases."""
  flags.DEFINE_string("workdir", None, "The search's workdir.")
  flags.DEFINE_string(
      "checkpoint", None, "'best' (kept on the selection split by --eval_every "
      "during the search), 'latest', or a checkpoint prefix; default: best when "
      "the search kept one, else latest.")
  flags.DEFINE_string(
      "saved_model", None, "Evaluate this exported SavedModel of the run "
      "(serving_default: z -> uint8 images) instead of a checkpoint.")
  flags.DEFINE_integer(
      "eval_samples", DEFAULT_SAMPLES, "N real and N generated images (capped "
      "at the split's size).")
  flags.DEFINE_string(
      "split", None, "Real split; default: the held-out report split (e.g. "
      "test[50%:] for mnist_embedded), never the one the search selected on.")
  flags.DEFINE_string(
      "eval_backbone", "auto", f"{backbones.BACKBONES} or auto (digits for "
      "mnist_embedded; inception with --eval_backbone_weights; else domain for "
      "a labelled dataset: its own classifier, trained once and cached).")
  flags.DEFINE_string(
      "eval_backbone_weights", None, "Inception weights: a path to Keras's "
      "notop .h5 file, or 'imagenet' (downloads).")
  flags.DEFINE_string("cache_dir", None, "Cache directory (default: "
                      "the run's, else ~/.cache/slt_tf).")
  flags.DEFINE_integer("batch_size", 100, "Images per batch.")
  flags.DEFINE_integer("eval_seed", 0, "Seed of the evaluation latents.")
  flags.DEFINE_bool(
      "grayscale", False, "Diagnostic for grayscale datasets: convert the "
      "generated images to gray first (metrics named <m>_<backbone>-gray_<N>, "
      "written to eval/step_N_gray_<split>.json).")
  flags.DEFINE_integer(
      "eval_bn_batches", None, "Re-estimate the generator's batch-norm moving "
      "statistics on this many batches of fresh latents (the run's batch size) "
      "before sampling (written to eval/step_N_bn_<split>.json); 0: use the "
      "checkpoint's; default: the run's --eval_bn_batches.")
  for old, new in (("backbone", "eval_backbone"),
                   ("backbone_weights", "eval_backbone_weights"),
                   ("seed", "eval_seed"), ("bn_batches", "eval_bn_batches")):
    flags.DEFINE_alias(old, new)


def evaluate(argv) -> None:
  """The body of ``python -m slt_tf.evaluate``."""
  errors.no_arguments(argv)
  if not FLAGS.workdir:
    sys.exit("error: --workdir is required")
  with errors.exit_on_error(flagged=(ValueError,)):
    eval_settings.check(FLAGS.eval_samples, FLAGS.eval_bn_batches,
                        "eval_samples", "eval_bn_batches")
  with errors.exit_on_error():
    changes = dict(num_samples=FLAGS.eval_samples,
                   backbone=FLAGS.eval_backbone,
                   backbone_weights=FLAGS.eval_backbone_weights,
                   seed=FLAGS.eval_seed, grayscale=FLAGS.grayscale)
    if FLAGS.eval_bn_batches is not None:
      changes["bn_batches"] = FLAGS.eval_bn_batches
    settings = evaluator_lib.run_settings(
        workdir_lib.read_config(FLAGS.workdir), bool(FLAGS.saved_model),
        **changes)
    checkpoint = None
    if not FLAGS.saved_model:
      checkpoint = workdir_lib.default_checkpoint(FLAGS.workdir,
                                                  FLAGS.checkpoint)
    result = evaluator_lib.evaluate_workdir(
        FLAGS.workdir, checkpoint, FLAGS.split, settings,
        FLAGS.saved_model, cache_dir=FLAGS.cache_dir,
        batch_size=FLAGS.batch_size)
  print(json.dumps({k: v for k, v in result["metrics"].items()}, indent=2))
  if result["n"] < settings.num_samples:
    print(f"N={result['n']}: the split {result['split']} holds "
          f"{result['n']} images, fewer than --eval_samples="
          f"{settings.num_samples}")
  print(f"wrote {result['path']}")
