"""Dataclass fields that carry their flag's help text.

The configuration dataclasses (``TrainConfig``, ``TicketOptions``) declare
each field once, with its default and help; ``slt_tf.config_flags`` derives
the command-line flags from them, so no default is written twice.
"""

import dataclasses

HELP = "help"
FLAG = "flag"


def field(default, help_text: str, flag: bool = True):
  """A dataclass field with ``default`` (``dataclasses.MISSING``: required)
  and the help text of its flag.

  Args:
    default: the default, or ``dataclasses.MISSING`` for a required field.
    help_text: what the field means (the flag's help).
    flag: False for a field derived from others, which gets no flag.
  """
  metadata = {HELP: help_text, FLAG: flag}
  if default is dataclasses.MISSING:
    return dataclasses.field(metadata=metadata)
  return dataclasses.field(default=default, metadata=metadata)


def has_flag(f: dataclasses.Field) -> bool:
  """Whether the dataclass field ``f`` is set from a flag."""
  return f.metadata.get(FLAG, True)
