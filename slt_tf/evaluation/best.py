"""The best-checkpoint keeper: a hook the search loop is handed.

Evaluation never imports the loop: ``slt_tf.train_lib`` builds the keeper and
passes it to ``slt_tf.search.loop.run``, which calls ``begin(state)`` once its
state is built and then the keeper every ``every`` steps.
"""

import json
import os

from absl import logging
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.evaluation.evaluator import Evaluator
from slt_tf.evaluation.evaluator import metric_name
from slt_tf.evaluation.results import result_name
from slt_tf.evaluation.results import write_result
from slt_tf import fileio
from slt_tf import generators
from slt_tf import workdir as workdir_lib


class BestKeeper:
  """A search hook: evaluates on the selection split every ``every`` steps
  and keeps the best checkpoint.

  The best generator (lowest FID on ``datasets.held_out_splits(...).selection``)
  is written to ``WORKDIR/best/ckpt-STEP`` and named in ``best/best.json``;
  the report split is never looked at here. The loop (``slt_tf.search.loop``)
  calls ``begin(state)`` once its state is built, then the keeper with the
  step; evaluation never imports the loop.
  """

  def __init__(self, config: TrainConfig):
    self.config, self.every = config, config.eval.every
    self.split = config.data.source().held_out_splits().selection
    self.directory = os.path.join(config.workdir, workdir_lib.BEST)
    self.state = self.evaluator = self.key = self.best = None
    self._twin = None

  def _float32_generator(self):
    """The search's generator as evaluate and export see it: float32. A
    mixed-precision search's is copied into a float32 twin built once."""
    generator = self.state.generator
    if generator.dtype_policy.name == "float32":
      return generator
    if self._twin is None:
      self._twin = generators.build(self.config.model.arch,
                                    **self.config.generator_kwargs())
    self._twin.set_weights(generator.get_weights())
    return self._twin

  def begin(self, state) -> None:
    """Builds the evaluator (backbone, real activations) for ``state``'s
    generator and reads the best checkpoint kept so far."""
    config = self.config
    self.state = state
    self.evaluator = Evaluator(config, self.split, config.eval.settings(),
                               config.data.cache_dir)
    self.key = metric_name("fid", self.evaluator.backbone.name,
                           self.evaluator.n)
    best_json = workdir_lib.best_record_path(self.config.workdir)
    if os.path.exists(best_json):
      with open(best_json) as f:
        self.best = json.load(f)

  def __call__(self, step: int) -> None:
    values = self.evaluator.evaluate(self._float32_generator())
    name = result_name(step, bn_batches=self.evaluator.bn_batches)
    write_result(self.config.workdir, "selection", name, step, {
        "metrics": values, "step": step, "split": self.split,
        "role": "selection", "backbone": self.evaluator.backbone.name,
        "n": self.evaluator.n})
    value = values[self.key]
    if self.best is not None and not value < self.best["value"]:
      return
    name = f"ckpt-{step}"
    tf.train.Checkpoint(generator=self.state.generator,
                        step=self.state.step).write(
                            os.path.join(self.directory, name))
    previous = self.best["checkpoint"] if self.best else None
    self.best = {"checkpoint": name, "step": step, "metric": self.key,
                 "value": value, "split": self.split}
    fileio.write_json(workdir_lib.best_record_path(self.config.workdir),
                      self.best)
    if previous and previous != name:
      for path in tf.io.gfile.glob(os.path.join(self.directory,
                                                previous + ".*")):
        tf.io.gfile.remove(path)
    logging.info("step %d: new best %s %.4g on %s, saved in %s", step,
                 self.key, value, self.split, self.directory)
