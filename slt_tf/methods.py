"""The search's methods: the ticket search and the baselines it is compared with.

Every method runs through the same loop (``slt_tf.train_lib``) with the same
generator, latents, step budget and checkpointing; they differ in what the
masked layers hold, what the step updates and which loss drives it:

========================  ==========  ===============  =======================
method                    layers      updated          loss
========================  ==========  ===============  =======================
``ticket``                ticket      scores           moment matching
``dense``                 dense       weights          moment matching
``random_mask``           ticket      nothing          (moment matching, logged)
``random_dense``          dense       nothing          (moment matching, logged)
``adversarial_ticket``    ticket      scores + D       hinge GAN loss (SNGAN D)
``finetune``              dense       kept weights     moment matching
========================  ==========  ===============  =======================

"Nothing" still runs the generator in training mode every step, so that the
random networks' batch-norm statistics are those of their own activations, as
every other method's are; only then are their samples a fair baseline. Those
statistics are all that changes, and they forget their start within a few
dozen steps, so a study runs such a method only until its first evaluation
(``study_steps``), not for the whole budget.
``finetune`` starts from a found ticket (``--init_from``): its kernels are
``W * M`` and the gradient is masked, so pruned weights stay exactly zero.
"""

import dataclasses

# Steps after which a network that trains nothing holds batch-norm statistics
# of its own activations: the moving averages (momentum 0.9) keep 0.9**100,
# under 0.003%, of their start.
SETTLE_STEPS = 100

METHODS = ("ticket", "dense", "random_mask", "random_dense",
           "adversarial_ticket", "finetune")


@dataclasses.dataclass(frozen=True)
class Method:
  """What a method does (see the module docstring).

  Attributes:
    name: one of ``METHODS``.
    layer_mode: the masked layers' mode, "ticket" or "dense".
    trains: the step applies gradients to the generator.
    loss: "moment_matching" or "hinge" (adversarial, with a discriminator).
    needs_ticket: starts from a found ticket (``init_from``).
  """
  name: str
  layer_mode: str
  trains: bool = True
  loss: str = "moment_matching"
  needs_ticket: bool = False

  @property
  def adversarial(self) -> bool:
    return self.loss == "hinge"


_TABLE = {
    "ticket": Method("ticket", "ticket"),
    "dense": Method("dense", "dense"),
    "random_mask": Method("random_mask", "ticket", trains=False),
    "random_dense": Method("random_dense", "dense", trains=False),
    "adversarial_ticket": Method("adversarial_ticket", "ticket", loss="hinge"),
    "finetune": Method("finetune", "dense", needs_ticket=True),
}


def get(name: str) -> Method:
  """The method called ``name``.

  Raises:
    ValueError: starting with "method", for an unknown name.
  """
  if name not in _TABLE:
    raise ValueError(f"method must be one of {METHODS}, got {name!r}")
  return _TABLE[name]


def default_for_mode(mode: str) -> str:
  """The method of a config that names only the layers' mode (older runs)."""
  return "dense" if mode == "dense" else "ticket"


def study_steps(name: str, train_steps: int, eval_every: int) -> int:
  """The steps a study runs method ``name`` for, under a budget of
  ``train_steps`` with an evaluation every ``eval_every`` steps (0: none).

  A method that trains something gets the whole budget. One that trains
  nothing is the same network at every step but for its batch-norm moving
  statistics, so it runs until they have settled (``SETTLE_STEPS``) and, with
  evaluations, until its first one (which the best-checkpoint keeper needs):
  every later step would compute the same network again.
  """
  if get(name).trains:
    return train_steps
  return min(train_steps, max(SETTLE_STEPS, eval_every))
