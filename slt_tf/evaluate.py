r"""Evaluates a found ticket: FID, KID, precision/recall/density/coverage.

  python -m slt_tf.evaluate --workdir=workdirs/demo [--eval_samples=N]

Reads the run's ``config.json``, restores the best checkpoint the search kept
(``--eval_every``; else the latest; ``--checkpoint=latest`` / a prefix for
another), compares N generated images with N images of a held-out split
through a named backbone, and writes ``eval/<role>/step_N.json`` (the role of
the split: ``report`` by default) and TensorBoard scalars under the workdir.
"""

import json
import sys

from absl import app
from absl import flags

from slt_tf import errors
from slt_tf import eval_settings
from slt_tf.evaluation import backbones
from slt_tf.evaluation import evaluator as evaluator_lib
from slt_tf.eval_settings import DEFAULT_SAMPLES
from slt_tf import workdir as workdir_lib

_WORKDIR = flags.DEFINE_string("workdir", None, "The search's workdir.")
_CHECKPOINT = flags.DEFINE_string(
    "checkpoint", None, "'best' (kept on the selection split by --eval_every "
    "during the search), 'latest', or a checkpoint prefix; default: best when "
    "the search kept one, else latest.")
_SAVED_MODEL = flags.DEFINE_string(
    "saved_model", None, "Evaluate this exported SavedModel of the run "
    "(serving_default: z -> uint8 images) instead of a checkpoint.")
# The search's names for the same settings (--eval_samples, --eval_backbone,
# ...; slt_tf.eval_settings), so that a flag means one thing in every
# command; the older short names remain as aliases.
_EVAL_SAMPLES = flags.DEFINE_integer(
    "eval_samples", DEFAULT_SAMPLES, "N real and N generated images (capped "
    "at the split's size).")
_SPLIT = flags.DEFINE_string(
    "split", None, "Real split; default: the held-out report split (e.g. "
    "test[50%:] for mnist_embedded), never the one the search selected on.")
_BACKBONE = flags.DEFINE_string(
    "eval_backbone", "auto", f"{backbones.BACKBONES} or auto (digits for "
    "mnist_embedded; inception with --eval_backbone_weights; else domain for "
    "a labelled dataset: its own classifier, trained once and cached).")
_BACKBONE_WEIGHTS = flags.DEFINE_string(
    "eval_backbone_weights", None, "Inception weights: a path to Keras's "
    "notop .h5 file, or 'imagenet' (downloads).")
_CACHE_DIR = flags.DEFINE_string("cache_dir", None, "Cache directory (default: "
                                 "the run's, else ~/.cache/slt_tf).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 100, "Images per batch.")
_SEED = flags.DEFINE_integer("eval_seed", 0, "Seed of the evaluation latents.")
_GRAYSCALE = flags.DEFINE_bool(
    "grayscale", False, "Diagnostic for grayscale datasets: convert the "
    "generated images to gray first (metrics named <m>_<backbone>-gray_<N>, "
    "written to eval/step_N_gray_<split>.json).")
_BN_BATCHES = flags.DEFINE_integer(
    "eval_bn_batches", None, "Re-estimate the generator's batch-norm moving "
    "statistics on this many batches of fresh latents (the run's batch size) "
    "before sampling (written to eval/step_N_bn_<split>.json); 0: use the "
    "checkpoint's; default: the run's --eval_bn_batches.")
for _old, _new in (("backbone", "eval_backbone"),
                   ("backbone_weights", "eval_backbone_weights"),
                   ("seed", "eval_seed"), ("bn_batches", "eval_bn_batches")):
  flags.DEFINE_alias(_old, _new)

def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]}")
  if not _WORKDIR.value:
    sys.exit("error: --workdir is required")
  with errors.exit_on_error(flagged=(ValueError,)):
    eval_settings.check(_EVAL_SAMPLES.value, _BN_BATCHES.value,
                        "eval_samples", "eval_bn_batches")
  with errors.exit_on_error():
    changes = dict(num_samples=_EVAL_SAMPLES.value, backbone=_BACKBONE.value,
                   backbone_weights=_BACKBONE_WEIGHTS.value, seed=_SEED.value,
                   grayscale=_GRAYSCALE.value)
    if _BN_BATCHES.value is not None:
      changes["bn_batches"] = _BN_BATCHES.value
    settings = evaluator_lib.run_settings(
        workdir_lib.read_config(_WORKDIR.value), bool(_SAVED_MODEL.value),
        **changes)
    checkpoint = None
    if not _SAVED_MODEL.value:
      checkpoint = workdir_lib.default_checkpoint(_WORKDIR.value,
                                                  _CHECKPOINT.value)
    result = evaluator_lib.evaluate_workdir(
        _WORKDIR.value, checkpoint, _SPLIT.value, settings,
        _SAVED_MODEL.value, cache_dir=_CACHE_DIR.value,
        batch_size=_BATCH_SIZE.value)
  print(json.dumps({k: v for k, v in result["metrics"].items()}, indent=2))
  if result["n"] < settings.num_samples:
    print(f"N={result['n']}: the split {result['split']} holds "
          f"{result['n']} images, fewer than --eval_samples="
          f"{settings.num_samples}")
  print(f"wrote {result['path']}")

if __name__ == "__main__":
  app.run(main, flags_parser=errors.parse_flags)
