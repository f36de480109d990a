"""Evaluation of a found ticket: FID, KID, PRDC (and IS) on a held-out split.

``Evaluator`` holds a backbone and the cached real activations of one split;
``Evaluator.evaluate(generator)`` samples N images from fixed latents and
returns metrics named ``<metric>_<backbone>_<N>`` (e.g. ``fid_digits_500``), so
numbers from different backbones or sample counts are never confused.
``evaluate_workdir`` evaluates a run's checkpoint (or its export,
``saved_model_generator``) and writes a JSON file and TensorBoard scalars
(``results``: their names, and the reuse of a stored result).
"""

import contextlib
import time
from typing import Dict, Optional

from absl import logging
import numpy as np
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.data import cache
from slt_tf.data import datasets
from slt_tf.data import images as images_lib
from slt_tf.errors import RunError
from slt_tf.evaluation import backbones
from slt_tf.evaluation import metrics
from slt_tf.evaluation import results
from slt_tf.evaluation.saved_model_generator import SavedModelGenerator
from slt_tf.eval_settings import EvalSettings
from slt_tf import fileio
from slt_tf.generators import batch_norm_stats
from slt_tf.generators import inputs as inputs_lib
from slt_tf import runtime
from slt_tf import workdir as workdir_lib

_EVAL_SEED = 0xE7A1


def metric_name(metric: str, backbone: str, n: int) -> str:
  """``fid_digits_500``, ``fid_inception_10k``: metric, backbone and N."""
  count = f"{n // 1000}k" if n % 1000 == 0 else str(n)
  return f"{metric}_{backbone}_{count}"


class Evaluator:
  """A backbone plus the real activations of ``split``, for repeated use.

  Args:
    config: the run's configuration (dataset, resolution, latent size).
    split: the real split compared against.
    settings: what is computed (N, backbone, latent seed, batch-norm
      re-estimation on batches of ``config.optim.batch_size`` fresh latents,
      gray diagnostic); see ``slt_tf.eval_settings``.
    cache_dir: cache of real activations and the domain evaluator (default:
      the run's, else ``cache.default_dir()``).
    batch_size: images per backbone call.
  """

  def __init__(self, config: TrainConfig, split: str,
               settings: EvalSettings = EvalSettings(),
               cache_dir: Optional[str] = None, batch_size: int = 100):
    self.config, self.split, self.batch_size = config, split, batch_size
    self.settings = settings
    self.seed, self.grayscale = settings.seed, settings.grayscale
    self.bn_batches = settings.bn_batches
    num_samples, backbone = settings.num_samples, settings.backbone
    backbone_weights = settings.backbone_weights
    self._sample_for, self._sample = None, None
    cache_dir = cache_dir or config.data.cache_dir or cache.default_dir()
    name = (backbones.default_backbone(config.data.dataset, backbone_weights,
                                       config.data.data_dir, config.data.holdout)
            if backbone == "auto" else backbone)
    self.backbone = backbones.build(name, config.model.resolution, backbone_weights,
                                    config.data.dataset, cache_dir,
                                    config.data.data_dir, config.data.holdout)
    source = config.data.source()
    real = source.load(config.model.resolution, split)
    self.n = min(num_samples, real.count)
    if self.n < num_samples:
      logging.warning("evaluation N=%d: the split %s holds %d images, fewer "
                      "than the %d asked for (--eval_samples); metrics are "
                      "named with the N used", self.n, split, real.count,
                      num_samples)
    key = {"kind": "real_activations",
           "dataset": source.identity(),
           "split": split, "resolution": config.model.resolution, "count": self.n,
           "backbone": self.backbone.name,
           "weights_id": self.backbone.weights_id}
    path = cache.entry_path(cache_dir, "real_activations", key)

    def compute():
      start = time.time()
      acts, _ = backbones.activations(
          self.backbone, datasets.batched(real.dataset.take(self.n), batch_size))
      logging.info("real activations: %d %s/%s images through %s in %.1f s, "
                   "cached in %s", self.n, config.data.dataset, split,
                   self.backbone.describe(), time.time() - start, path)
      return {"activations": acts}

    self.real = cache.load_or_compute(path, key, compute)[0]["activations"]
    self.real_moments = metrics.mean_and_covariance(self.real)

  def generated_images(self, generator):
    """Batches of N images from fixed latents, in inference mode."""
    config = self.config
    if self._sample_for is not generator:
      # One function per generator, not per evaluation (retracing would keep
      # every graph alive over a long search).
      self._sample_for = generator
      self._sample = tf.function(
          lambda inputs: generator(inputs, training=False))
    sample = self._sample
    for start in range(0, self.n, self.batch_size):
      b = min(self.batch_size, self.n - start)
      inputs = inputs_lib.latent_batch(
          b, config.model.latent_size, config.model.num_classes,
          tf.constant([self.seed ^ _EVAL_SEED, start], tf.int64))
      # Gray samples reach the 3-channel backbone as 3 equal channels.
      images = images_lib.to_rgb(tf.cast(
          sample(inputs_lib.generator_input(inputs)), tf.float32))
      if self.grayscale:
        images = tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(images))
      yield images

  def evaluate(self, generator) -> Dict[str, float]:
    """Named metrics of ``generator`` against the real split."""
    start = time.time()
    statistics = contextlib.nullcontext()
    if self.bn_batches:
      if isinstance(generator, SavedModelGenerator):
        raise RunError("bn_batches: a SavedModel's batch-norm statistics "
                       "are constants and cannot be re-estimated")
      config = self.config
      statistics = batch_norm_stats.reestimated(
          generator, self.bn_batches, config.optim.batch_size, config.model.latent_size,
          config.model.num_classes, self.seed)
    with statistics:
      fake, logits = backbones.activations(self.backbone,
                                           self.generated_images(generator))
    label = self.backbone.name + ("-gray" if self.grayscale else "")
    name = lambda m: metric_name(m, label, self.n)
    result = {
        name("fid"): metrics.frechet_distance_from_moments(
            *self.real_moments, *metrics.mean_and_covariance(fake))}
    kid, kid_std = metrics.kernel_distance(self.real, fake)
    result[name("kid")] = kid
    if np.isfinite(kid_std):
      # KID's standard error over blocks of at most 1,024 images: defined
      # only with two blocks or more (N > 1,024), and left out below that.
      result[name("kid_std")] = kid_std
    for key, value in metrics.prdc(self.real, fake).items():
      result[name(key)] = value
    if logits is not None:
      result[name("is")] = metrics.inception_score(logits)
    logging.info("evaluated %d samples against %s in %.1f s: %s", self.n,
                 self.split, time.time() - start,
                 ", ".join(f"{k} {v:.4g}" for k, v in result.items()))
    return result


def evaluate_workdir(workdir: str, checkpoint: Optional[str] = None,
                     split: Optional[str] = None,
                     settings: Optional[EvalSettings] = None,
                     saved_model: Optional[str] = None,
                     label: Optional[str] = None, reuse: bool = False,
                     cache_dir: Optional[str] = None,
                     batch_size: int = 100) -> dict:
  """Evaluates a run's checkpoint on a held-out split and writes the result.

  Args:
    workdir: the run's directory (its ``config.json`` defines the generator).
    checkpoint: "latest" (default), "best", or a checkpoint prefix.
    split: the real split; default: the report split of
      ``datasets.held_out_splits``, never the one the search selected on.
    settings: what is computed; default: ``EvalSettings()`` (N=10,000) with
      the run's ``eval_bn_batches`` (``run_settings``).
    saved_model: evaluate this exported SavedModel of the run instead of a
      checkpoint (see ``SavedModelGenerator``; its batch-norm statistics are
      constants, so re-estimation is refused).
    label: names the result ``eval/<role>/<label>.json`` (default:
      ``step_N``, with ``_gray`` / ``_bn`` for those evaluations).
    reuse: return the stored result of the same evaluation (checkpoint and
      settings) instead of recomputing it.
    cache_dir: see ``Evaluator``.
    batch_size: images per backbone call.

  Returns:
    {"metrics", "checkpoint", "step", "split", "backbone", "n", "path", ...}.
  """
  runtime.log_once()
  config = workdir_lib.read_config(workdir)  # Checked before anything is written.
  if settings is None:
    settings = run_settings(config, saved_model=bool(saved_model))
  if split is None:
    split = config.data.source().held_out_splits().report
  if reuse and not saved_model:
    stored = results.stored_result(config, workdir, checkpoint, split, label,
                            settings)
    if stored is not None:
      return stored
  evaluator = lambda: Evaluator(config, split, settings, cache_dir, batch_size)
  if saved_model:  # A reader of an export; it writes only its own result.
    return _evaluate(config, workdir, checkpoint, split, saved_model, label,
                     evaluator)
  with workdir_lib.WorkdirLock(workdir, "an evaluation"):
    return _evaluate(config, workdir, checkpoint, split, saved_model, label,
                     evaluator)


def run_settings(config: TrainConfig, saved_model: bool = False,
                 **changes) -> EvalSettings:
  """``EvalSettings`` (N=10,000 unless changed) with the run's batch-norm
  re-estimation (``eval_bn_batches``), so that an evaluation reports what the
  search's keeper saw; 0 for an export, whose statistics are constants."""
  bn = 0 if saved_model else config.eval.bn_batches
  return EvalSettings(**{"bn_batches": bn, **changes})


def _evaluate(config: TrainConfig, workdir, checkpoint, split, saved_model,
              label, make_evaluator) -> dict:
  if saved_model:
    generator, path, step = SavedModelGenerator(saved_model), saved_model, -1
    generator.check_run(config, workdir)
  else:
    path = workdir_lib.resolve_checkpoint(workdir, checkpoint)
    generator = workdir_lib.restore_generator(config, path)
    step = workdir_lib.checkpoint_step(path)
  evaluator = make_evaluator()
  result = {"metrics": evaluator.evaluate(generator), "checkpoint": path,
            "step": step, "split": split, "backbone": evaluator.backbone.name,
            "backbone_weights": evaluator.backbone.weights_id,
            "n": evaluator.n,
            "requested_n": evaluator.settings.num_samples,
            "eval_seed": evaluator.seed,
            "dataset": config.data.dataset}
  if evaluator.grayscale:
    result["grayscale"] = True
  if evaluator.bn_batches:
    result["bn_batches"] = evaluator.bn_batches
  role = results.split_role(config, split)
  result["role"] = role
  name = label or results.result_name(step, bool(saved_model), evaluator.grayscale,
                              evaluator.bn_batches)
  try:
    result["path"] = results.write_result(workdir, role, name, step, result)
  except Exception as e:  # pylint: disable=broad-except
    if not fileio.out_of_space(e):
      raise
    raise RunError(f"workdir: cannot write {fileio.no_space_text(e, workdir)}"
                   "; the evaluation was not saved (earlier results are "
                   "unchanged)") from None
  return result
