"""What an evaluation computes: one settings value for every evaluator.

The search's best-checkpoint keeper, ``python -m slt_tf.evaluate``, the study
and the tuning pilots all describe their evaluations with ``EvalSettings``
(the search's from its ``--eval_*`` flags, the configuration's ``eval``
group: ``EvalConfig.settings``).
Two evaluations of one checkpoint on one split with the same settings are
the same evaluation, so a stored result is reused only when its settings
are these (``same_evaluation``).

This module imports no TensorFlow: the configuration builds settings.
"""

import dataclasses
from typing import Optional

from slt_tf import config_fields

# N of an evaluation when nothing else is asked for: the field's standard
# (FID-10k), real and generated images alike.
DEFAULT_SAMPLES = 10_000


def check(num_samples: Optional[int] = None, bn_batches: Optional[int] = None,
          samples_name: str = "num_samples", bn_name: str = "bn_batches"):
  """The range of an evaluation's N and re-estimation batches (None: not
  given), for ``EvalSettings`` and for the flags that set them.

  Raises:
    ValueError: starting with ``samples_name`` or ``bn_name``.
  """
  if num_samples is not None and num_samples < 2:
    raise ValueError(f"{samples_name} must be >= 2, got {num_samples}")
  if bn_batches is not None and bn_batches < 0:
    raise ValueError(f"{bn_name} must be >= 0, got {bn_batches}")


@dataclasses.dataclass(frozen=True)
class EvalSettings:
  """One evaluation's settings.

  Attributes:
    num_samples: N real and N generated images, capped at the split's size.
    backbone: the embedding (``slt_tf.evaluation.backbones.BACKBONES``) or
      "auto" (``backbones.default_backbone``).
    backbone_weights: the inception backbone's weights.
    bn_batches: re-estimate the generator's batch-norm moving statistics on
      this many batches of fresh latents first, restored afterwards (0: the
      checkpoint's own).
    seed: seed of the evaluation latents (the same for every checkpoint).
    grayscale: turn the generated images gray first (a diagnostic for gray
      datasets; its metrics are named ``<m>_<backbone>-gray_<N>``).
  """
  num_samples: int = DEFAULT_SAMPLES
  backbone: str = "auto"
  backbone_weights: Optional[str] = None
  bn_batches: int = 0
  seed: int = 0
  grayscale: bool = False

  def __post_init__(self):
    check(self.num_samples, self.bn_batches)

  def replace(self, **changes) -> "EvalSettings":
    return dataclasses.replace(self, **changes)

  def same_evaluation(self, stored: dict) -> bool:
    """Whether ``stored``, a result ``evaluate_workdir`` wrote, was computed
    with these settings (N asked for, backbone, latent seed, re-estimation,
    gray). Results written before a field was recorded used its default."""
    return (stored.get("requested_n") == self.num_samples
            # "domain" is stored with its dataset's digest: domain-<digest>.
            and self.backbone in ("auto",
                                  stored.get("backbone", "").split("-")[0])
            and stored.get("eval_seed", 0) == self.seed
            and stored.get("bn_batches", 0) == self.bn_batches
            and stored.get("grayscale", False) == self.grayscale)


@dataclasses.dataclass(frozen=True)
class EvalConfig:
  """The search's evaluations (the configuration's ``eval`` group): how
  often, and their settings (``settings``), which the study and the pilots
  report with too."""
  every: int = config_fields.field(
      0, "Steps between evaluations (FID etc.) on the held-out "
      "selection split, keeping the best checkpoint in WORKDIR/best (0: never).",
      name="eval_every")
  num_samples: int = config_fields.field(
      1000, "N of those evaluations.", name="eval_samples")
  backbone: str = config_fields.field(
      "auto", "Their backbone: inception, domain, digits, or auto (as "
      "evaluate's --backbone).", name="eval_backbone")
  backbone_weights: Optional[str] = config_fields.field(
      None, "Inception weights for those evaluations.",
      name="eval_backbone_weights")
  bn_batches: int = config_fields.field(
      0, "Before those evaluations (and the study's), re-estimate the "
      "generator's batch-norm moving statistics on this many batches of fresh "
      "latents, restored afterwards (0: use the search's moving averages).",
      name="eval_bn_batches")

  def __post_init__(self):
    if self.every < 0:
      raise ValueError(f"eval_every must be >= 0, got {self.every}")
    check(self.num_samples, self.bn_batches, "eval_samples", "eval_bn_batches")

  def settings(self) -> EvalSettings:
    """The settings of these evaluations."""
    return EvalSettings(num_samples=self.num_samples, backbone=self.backbone,
                        backbone_weights=self.backbone_weights,
                        bn_batches=self.bn_batches)
