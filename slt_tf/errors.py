"""The one user-error base class: every bad input raises a subclass of it.

Its message starts with the name of the flag (or the file) at fault, so that
each ``python -m`` entry point catches ``UserError`` once and exits with one
line, ``error: --<message>``.
"""


class UserError(ValueError):
  """A bad input; the message starts with the flag or file name at fault."""


class RunError(UserError):
  """A run that cannot start or go on: a workdir, checkpoint, strategy or
  ``init_from`` that does not fit the flags."""


class DataError(UserError):
  """A dataset that cannot be used; the message starts with ``dataset``."""
