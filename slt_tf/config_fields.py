"""Dataclass fields that carry their flag's help text, and groups of them.

The configuration is a dataclass of groups (``TrainConfig``: ``model``,
``ticket``, ``data``, ``features``, ``optim``, ``eval``, ``adversarial``,
``runtime``), each a dataclass that declares its fields once, with default,
help and flag name. ``slt_tf.config_flags`` derives the command-line flags
from them, so no default is written twice. Every field has one flat name,
its flag's (``--learning_rate``, ``--eval_samples``): the name users type,
``config.json`` and results rows use, while the code reads the grouped path
(``config.optim.learning_rate``, ``config.eval.num_samples``).
"""

import dataclasses
from typing import Sequence

HELP = "help"
FLAG = "flag"
# The field's flat name (its flag and JSON key) when not its own name.
NAME = "name"
# Metadata of a group field: FLAT (its fields are flags and JSON keys of
# their own) or NESTED (flags of their own, one JSON object under the group's
# name: the ticket's, as config.json has always written it).
GROUP = "group"
FLAT, NESTED = "flat", "nested"
# What a value of the field means for a run (``TrainConfig.identity`` and
# ``outcome``): one of ROLES.
ROLE = "role"
# IDENTITY: what a workdir's checkpoints are (a rerun in the same workdir
# must agree); OUTCOME: changes what the run computes, but a workdir may go
# on with another value (train_steps, the learning rate); NEITHER: where it
# is stored, how often it logs or saves, how long collectives wait.
IDENTITY, OUTCOME, NEITHER = "identity", "outcome", "neither"
ROLES = (IDENTITY, OUTCOME, NEITHER)


def field(default, help_text: str, flag: bool = True, role: str = OUTCOME,
          name: str = None):
  """A dataclass field with ``default`` (``dataclasses.MISSING``: required),
  the help text of its flag, and its role for a run.

  Args:
    default: the default, or ``dataclasses.MISSING`` for a required field.
    help_text: what the field means (the flag's help).
    flag: False for a field derived from others, which gets no flag.
    role: ``IDENTITY``, ``OUTCOME`` or ``NEITHER`` (see ``ROLES``).
    name: the flat name (flag, JSON key) when it is not the field's own
      (``features.bn`` is ``--feature_bn``).
  """
  check_name(role, ROLES, "role")
  metadata = {HELP: help_text, FLAG: flag, ROLE: role}
  if name:
    metadata[NAME] = name
  if default is dataclasses.MISSING:
    return dataclasses.field(metadata=metadata)
  return dataclasses.field(default=default, metadata=metadata)


def group(cls, help_text: str, json: str = FLAT, role: str = OUTCOME):
  """A field holding the group dataclass ``cls`` (its default: ``cls()``).

  Args:
    cls: the group's dataclass; every field has a default.
    help_text: what the group holds.
    json: ``FLAT`` or ``NESTED`` (see ``GROUP``).
    role: for a ``NESTED`` group, the role of the whole group.
  """
  check_name(json, (FLAT, NESTED), "json")
  return dataclasses.field(default_factory=cls, metadata={
      HELP: help_text, FLAG: False, ROLE: role, GROUP: json})


def flat_name(f: dataclasses.Field) -> str:
  """The flat name (flag, JSON key) of the dataclass field ``f``."""
  return f.metadata.get(NAME, f.name)


def group_class(f: dataclasses.Field):
  """The dataclass of the group field ``f``; None for a plain field."""
  return f.default_factory if GROUP in f.metadata else None


def leaves(cls):
  """(flat name, group field name or None, field) of every plain field of
  ``cls``, groups expanded, in order: the fields flags are made of."""
  for f in dataclasses.fields(cls):
    inner = group_class(f)
    if inner is None:
      yield flat_name(f), None, f
    else:
      for g in dataclasses.fields(inner):
        yield flat_name(g), f.name, g


def json_fields(cls):
  """(JSON key, group field name or None, field) of every entry of ``cls``'s
  flat JSON form: plain fields and FLAT groups' fields by flat name, a NESTED
  group whole."""
  for f in dataclasses.fields(cls):
    inner = group_class(f)
    if inner is not None and f.metadata[GROUP] == FLAT:
      for g in dataclasses.fields(inner):
        yield flat_name(g), f.name, g
    else:
      yield flat_name(f), None, f


def json_items(cls):
  """(JSON key, role) of every entry of ``cls``'s flat JSON form
  (``json_fields``)."""
  for name, _, f in json_fields(cls):
    yield name, f.metadata.get(ROLE, OUTCOME)


def names_with_role(cls, role: str) -> tuple:
  """The JSON keys of ``cls`` (``json_items``) with ``role``, in order."""
  return tuple(name for name, r in json_items(cls) if r == role)


def has_flag(f: dataclasses.Field) -> bool:
  """Whether the dataclass field ``f`` is set from a flag."""
  return f.metadata.get(FLAG, True)


def check_name(value: str, allowed: Sequence[str], arg: str) -> str:
  """Returns ``value`` or raises a ValueError naming ``arg`` and the choices."""
  if value not in allowed:
    raise ValueError(f"{arg} must be one of {tuple(allowed)}, got {value!r}")
  return value
