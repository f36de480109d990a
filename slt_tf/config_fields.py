"""Dataclass fields that carry their flag's help text.

The configuration dataclasses (``TrainConfig``, ``TicketOptions``) declare
each field once, with its default and help; ``slt_tf.config_flags`` derives
the command-line flags from them, so no default is written twice.
"""

import dataclasses
from typing import Sequence

HELP = "help"
FLAG = "flag"
# What a value of the field means for a run (``TrainConfig.identity`` and
# ``outcome``): one of ROLES.
ROLE = "role"
# IDENTITY: what a workdir's checkpoints are (a rerun in the same workdir
# must agree); OUTCOME: changes what the run computes, but a workdir may go
# on with another value (train_steps, the learning rate); NEITHER: where it
# is stored, how often it logs or saves, how long collectives wait.
IDENTITY, OUTCOME, NEITHER = "identity", "outcome", "neither"
ROLES = (IDENTITY, OUTCOME, NEITHER)


def field(default, help_text: str, flag: bool = True, role: str = OUTCOME):
  """A dataclass field with ``default`` (``dataclasses.MISSING``: required),
  the help text of its flag, and its role for a run.

  Args:
    default: the default, or ``dataclasses.MISSING`` for a required field.
    help_text: what the field means (the flag's help).
    flag: False for a field derived from others, which gets no flag.
    role: ``IDENTITY``, ``OUTCOME`` or ``NEITHER`` (see ``ROLES``).
  """
  check_name(role, ROLES, "role")
  metadata = {HELP: help_text, FLAG: flag, ROLE: role}
  if default is dataclasses.MISSING:
    return dataclasses.field(metadata=metadata)
  return dataclasses.field(default=default, metadata=metadata)


def names_with_role(cls, role: str) -> tuple:
  """The fields of the dataclass ``cls`` with ``role``, in order."""
  return tuple(f.name for f in dataclasses.fields(cls)
               if f.metadata.get(ROLE, OUTCOME) == role)


def has_flag(f: dataclasses.Field) -> bool:
  """Whether the dataclass field ``f`` is set from a flag."""
  return f.metadata.get(FLAG, True)


def check_name(value: str, allowed: Sequence[str], arg: str) -> str:
  """Returns ``value`` or raises a ValueError naming ``arg`` and the choices."""
  if value not in allowed:
    raise ValueError(f"{arg} must be one of {tuple(allowed)}, got {value!r}")
  return value
