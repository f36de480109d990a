"""Dataclass fields that carry their flag's help text.

The configuration dataclasses (``TrainConfig``, ``TicketOptions``) declare
each field once, with its default and help; ``slt_tf.config_flags`` derives
the command-line flags from them, so no default is written twice.
"""

import dataclasses

HELP = "help"


def field(default, help_text: str):
  """A dataclass field with ``default`` (``dataclasses.MISSING``: required)
  and the help text of its flag."""
  if default is dataclasses.MISSING:
    return dataclasses.field(metadata={HELP: help_text})
  return dataclasses.field(default=default, metadata={HELP: help_text})
