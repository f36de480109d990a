"""Tests for slt_tf.evaluation.results: an evaluation's names and paths.

Writing and reusing results runs through ``evaluate_workdir``
(tests/test_evaluation_evaluator.py); these are the names alone."""

import os

import tensorflow as tf

from slt_tf.evaluation import results
import testutil


class NamesTest(tf.test.TestCase):

  def testSplitLabels_FileSafeAndDistinct(self):
    splits = ("test[:50%]", "test[50%:]", "test", "validation[:50%]",
              "train[:10000]")
    labels = [results.split_label(s) for s in splits]
    self.assertLen(set(labels), len(splits))
    for label in labels:
      self.assertRegex(label, r"^[A-Za-z0-9_.-]+$")

  def testSplitRole_SelectionReportOrTheLabel(self):
    config = testutil.tiny_config(self.get_temp_dir())
    self.assertEqual(results.split_role(config, "test[:50%]"), "selection")
    self.assertEqual(results.split_role(config, "test[50%:]"), "report")
    self.assertEqual(results.split_role(config, "train"), "train")

  def testResultNamePathAndTensorBoardRun(self):
    name = results.result_name(2000, bn_batches=20)
    self.assertEqual(name, "step_0002000_bn")
    self.assertEqual(results.result_name(5, saved_model=True,
                                         grayscale=True), "saved_model_gray")
    self.assertEqual(results.result_path("w", "report", name),
                     os.path.join("w", "eval", "report", "step_0002000_bn.json"))
    self.assertEqual(results.tensorboard_run("report", name), "report_bn")
    self.assertEqual(results.tensorboard_run("selection", "step_0000010"),
                     "selection")


if __name__ == "__main__":
  tf.test.main()
