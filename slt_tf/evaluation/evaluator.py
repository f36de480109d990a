"""Evaluation of a found ticket: FID, KID, PRDC (and IS) on a held-out split.

``Evaluator`` holds a backbone and the cached real activations of one split;
``Evaluator.evaluate(generator)`` samples N images from fixed latents and
returns metrics named ``<metric>_<backbone>_<N>`` (e.g. ``fid_digits_500``), so
numbers from different backbones or sample counts are never confused.
``evaluate_workdir`` evaluates a run's checkpoint and writes a JSON file and
TensorBoard scalars.
"""

import contextlib
import json
import os
import re
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


def split_label(split: str) -> str:
  """A file-name-safe, unique form of a split: ``test[:50%]`` ->
  ``test_to50pct``, ``test[50%:]`` -> ``test_50pctto``."""
  label = split.replace("%", "pct").replace(":", "to").replace("[", "_")
  return re.sub(r"[^A-Za-z0-9_.-]+", "", label)


class Evaluator:
  """A backbone plus the real activations of ``split``, for repeated use.

  Args:
    config: the run's configuration (dataset, resolution, latent size).
    split: the real split compared against.
    settings: what is computed (N, backbone, latent seed, batch-norm
      re-estimation on batches of ``config.batch_size`` fresh latents,
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
    cache_dir = cache_dir or config.cache_dir or cache.default_dir()
    name = (backbones.default_backbone(config.dataset, backbone_weights,
                                       config.data_dir, config.holdout)
            if backbone == "auto" else backbone)
    self.backbone = backbones.build(name, config.resolution, backbone_weights,
                                    config.dataset, cache_dir,
                                    config.data_dir, config.holdout)
    real = datasets.load(config.dataset, config.resolution, split,
                         config.data_dir, holdout=config.holdout)
    self.n = min(num_samples, real.count)
    if self.n < num_samples:
      logging.warning("evaluation N=%d: the split %s holds %d images, fewer "
                      "than the %d asked for (--eval_samples); metrics are "
                      "named with the N used", self.n, split, real.count,
                      num_samples)
    key = {"kind": "real_activations",
           "dataset": datasets.identity(config.dataset, config.data_dir,
                                        config.holdout),
           "split": split, "resolution": config.resolution, "count": self.n,
           "backbone": self.backbone.name,
           "weights_id": self.backbone.weights_id}
    path = cache.entry_path(cache_dir, "real_activations", key)

    def compute():
      start = time.time()
      acts, _ = backbones.activations(
          self.backbone, datasets.batched(real.dataset.take(self.n), batch_size))
      logging.info("real activations: %d %s/%s images through %s in %.1f s, "
                   "cached in %s", self.n, config.dataset, split,
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
          b, config.latent_size, config.num_classes,
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
          generator, self.bn_batches, config.batch_size, config.latent_size,
          config.num_classes, self.seed)
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


class SavedModelGenerator:
  """A TF Serving SavedModel used as a generator, for evaluating an export.

  The SavedModel must have the ``serving_default`` signature of
  ``python -m slt_tf.export``: input ``z`` (float32, [None, nz]) and, for
  conditional BigGAN, ``label`` (int32, [None]); output ``images`` (uint8,
  [None, H, W, 3]). Images are mapped back to [-1, 1].
  """

  def __init__(self, path: str):
    self.path = path
    try:
      # Held: the signature's variables live only as long as the loaded object.
      self.loaded = tf.saved_model.load(path)
      self.signature = self.loaded.signatures["serving_default"]
    except Exception as e:  # pylint: disable=broad-except
      raise RunError(f"saved_model: {path} is not a SavedModel with "
                     f"a serving_default signature ({e})") from None
    inputs = self.signature.structured_input_signature[1]
    outputs = self.signature.structured_outputs
    if "z" not in inputs or "images" not in outputs:
      raise RunError(
          f"saved_model: {path}: serving_default must take 'z' and return "
          f"'images'; it takes {sorted(inputs)} and returns {sorted(outputs)}")

  def check_run(self, config: TrainConfig, workdir: str) -> None:
    """Refuses an export of another run than ``config``'s.

    Raises:
      RunError: naming ``saved_model`` and the fields that differ.
    """
    stored = getattr(self.loaded, "run_identity", None)
    if stored is None:  # Exported before exports recorded their run.
      logging.warning("saved_model: %s does not record its run; cannot check "
                      "that it comes from %s", self.path, workdir)
      return
    theirs = json.loads(stored.numpy().decode())
    ours = json.loads(config.identity_json())
    differ = sorted(k for k in ours if theirs.get(k) != ours[k])
    if differ:
      raise RunError(f"saved_model: {self.path} was exported from another run "
                     f"than --workdir {workdir} (they differ in "
                     f"{', '.join(differ)})")

  def __call__(self, inputs, training=False):
    del training
    if isinstance(inputs, (list, tuple)):
      out = self.signature(z=inputs[0], label=tf.cast(inputs[1], tf.int32))
    else:
      out = self.signature(z=inputs)
    return images_lib.from_uint8(out["images"])


def split_role(config: TrainConfig, split: str) -> str:
  """What ``split`` is to the run, which names its evaluations' files and
  TensorBoard runs: "selection" or "report" (``datasets.held_out_splits``),
  else the split's own name made file-safe. The exact split string is kept
  inside every result."""
  try:
    splits = datasets.held_out_splits(config.dataset, config.data_dir,
                                      config.holdout)
  except datasets.DataError:
    splits = None
  if splits is not None and split == splits.selection:
    return "selection"
  if splits is not None and split == splits.report:
    return "report"
  return split_label(split)


def result_name(step: int, saved_model: bool = False, grayscale: bool = False,
                bn_batches: int = 0) -> str:
  """An evaluation's name: ``step_0002000`` (the checkpoint's step) or
  ``saved_model``, with ``_gray`` and ``_bn`` (re-estimated batch norms)
  for those evaluations."""
  name = "saved_model" if saved_model else f"step_{step:07d}"
  return name + ("_gray" if grayscale else "") + ("_bn" if bn_batches else "")


def result_path(workdir: str, role: str, name: str) -> str:
  """``WORKDIR/eval/<role>/<name>.json``, e.g. ``eval/report/step_0002000_bn
  .json`` (``split_role``, ``result_name``)."""
  return os.path.join(workdir, "eval", role, f"{name}.json")


def _old_result_path(workdir: str, split: str, name: str) -> str:
  """Where results were written before they were named by role:
  ``eval/<name>_<split_label>.json``; read, never written."""
  return os.path.join(workdir, "eval", f"{name}_{split_label(split)}.json")


def tensorboard_run(role: str, name: str) -> str:
  """The TensorBoard run of an evaluation: its role, and what its name adds
  to a checkpoint's step (``report_bn``, ``selection_tune_last``), so that
  the evaluations of every checkpoint form one curve."""
  suffix = re.sub(r"^step_\d+_?", "", name)
  return f"{role}_{suffix}" if suffix else role


def write_result(workdir: str, role: str, name: str, step: int,
                 result: dict) -> str:
  """Writes ``eval/<role>/<name>.json`` and TensorBoard scalars (run
  ``tensorboard_run(role, name)``, at ``step``); returns the JSON path.
  Metrics that are not finite are left out of both."""
  result = dict(result, metrics={k: v for k, v in result["metrics"].items()
                                 if np.isfinite(v)})
  path = result_path(workdir, role, name)
  fileio.write_json(path, result)
  writer = tf.summary.create_file_writer(
      workdir_lib.tensorboard_dir(workdir, tensorboard_run(role, name)))
  with writer.as_default(step=max(step, 0)):
    for metric, value in result["metrics"].items():
      tf.summary.scalar(f"eval/{metric}", value)
  writer.close()
  return path


def _stored_result(config: TrainConfig, workdir: str, checkpoint, split,
                   label, settings: EvalSettings) -> Optional[dict]:
  """The stored result of the evaluation ``evaluate_workdir`` was asked for:
  the same checkpoint and ``settings`` (``EvalSettings.same_evaluation``);
  else None. Results written before they were named by role are found
  too."""
  path = workdir_lib.resolve_checkpoint(workdir, checkpoint)
  step = workdir_lib.checkpoint_step(path)
  name = label or result_name(step, False, settings.grayscale,
                              settings.bn_batches)
  for stored_path in (result_path(workdir, split_role(config, split), name),
                      _old_result_path(workdir, split, name)):
    if os.path.exists(stored_path):
      with open(stored_path) as f:
        stored = json.load(f)
      if stored.get("checkpoint") == path and settings.same_evaluation(
          stored):
        return stored
  return None


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
    label: names the result ``eval/<label>_<split>.json`` (default:
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
    split = datasets.held_out_splits(config.dataset, config.data_dir,
                                      config.holdout).report
  if reuse and not saved_model:
    stored = _stored_result(config, workdir, checkpoint, split, label,
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
  bn = 0 if saved_model else config.eval_bn_batches
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
            "dataset": config.dataset}
  if evaluator.grayscale:
    result["grayscale"] = True
  if evaluator.bn_batches:
    result["bn_batches"] = evaluator.bn_batches
  role = split_role(config, split)
  result["role"] = role
  name = label or result_name(step, bool(saved_model), evaluator.grayscale,
                              evaluator.bn_batches)
  try:
    result["path"] = write_result(workdir, role, name, step, result)
  except Exception as e:  # pylint: disable=broad-except
    if not fileio.out_of_space(e):
      raise
    raise RunError(f"workdir: cannot write {fileio.no_space_text(e, workdir)}"
                   "; the evaluation was not saved (earlier results are "
                   "unchanged)") from None
  return result
