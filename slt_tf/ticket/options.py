"""How the masked layers of a network are made: ``TicketOptions``, which
``slt_tf.ticket.factory.LayerFactory`` applies. Importable without TensorFlow
(the configuration holds it).
"""

import dataclasses

from slt_tf import config_fields
from slt_tf.config_fields import check_name
from slt_tf.ticket import names

# ``weight_init`` of a ticketized model whose frozen weights are its own
# (``slt_tf.ticket.ticketize``), not drawn from the seed.
FROM_MODEL = "model"


@dataclasses.dataclass(frozen=True)
class TicketOptions:
  """How the masked layers of a network are made; validated at construction.

  Each field is declared once with its default and help text
  (``config_fields.field``), its flag's ``--help``. ``mode`` ("ticket": train
  the scores; "dense": train the weights, the baseline) follows a search's
  method.
  """
  keep_ratio: float = config_fields.field(
      0.1, "Fraction of weights KEPT, in (0, 1] (the paper's "
      "'0.k').")
  mode: str = config_fields.field(
      "ticket", "The masked layers' mode: ticket (scores) or dense "
      "(weights). A search derives it from its method.", flag=False)
  mask_scope: str = config_fields.field(
      "layer", f"Top-k per layer or one global threshold: "
      f"{names.MASK_SCOPES}.")
  weight_init: str = config_fields.field(
      "signed_kaiming_constant", f"Random weights: {names.WEIGHT_INITS}"
      f", or '{FROM_MODEL}': a --arch=MODULE:FUNCTION model's own (as its "
      "function initialises them; stored whole in a compact ticket).")
  score_init: str = config_fields.field(
      "uniform_0.1", f"Scores: {names.SCORE_INITS}.")
  mask_bias: bool = config_fields.field(
      True, "Give biases their own scores and mask.")
  first_dense: bool = config_fields.field(
      False, "Keep the first layer unpruned.")
  last_dense: bool = config_fields.field(
      False, "Keep the last layer unpruned.")
  dense_whole_frozen: bool = config_fields.field(
      False, "Weight-training methods (dense, finetune): keep the layers that "
      "--first_dense / --last_dense keep whole frozen at their random weights, "
      "as a ticket's are (the fair control); default: trained.")
  bn_affine: bool = config_fields.field(
      False, "Give the generator's batch norms the authors' affine parameters "
      "(gamma ~ N(1, 0.02), beta 0): frozen at their draw for a ticket, "
      "trained by the weight-training methods. GFMN and SNGAN (BigGAN's are "
      "conditional). Default: none (gamma 1, beta 0, never trained).")
  seed: int = config_fields.field(
      0, "Seed of the random network and the "
      "run.")

  def __post_init__(self):
    names.validate_keep_ratio(self.keep_ratio)
    check_name(self.mode, ("ticket", "dense"), "mode")
    check_name(self.mask_scope, names.MASK_SCOPES, "mask_scope")
    check_name(self.weight_init, names.WEIGHT_INITS + (FROM_MODEL,),
               "weight_init")
    check_name(self.score_init, names.SCORE_INITS, "score_init")
    if not isinstance(self.seed, int) or self.seed < 0:
      raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
