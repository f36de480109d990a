"""The one user-error base class: every bad input raises a subclass of it.

Its message starts with the name of the flag (or the file) at fault, so that
each ``python -m`` entry point catches ``UserError`` once and exits with one
line, ``error: --<message>``.
"""

import contextlib
import sys
from typing import Tuple, Type


def parse_flags(argv):
  """absl's flag parsing, with a bad flag or a missing ``--flagfile`` as one
  line (``error: ...``) and exit status 2, for ``app.run(flags_parser=...)``.
  """
  from absl import flags  # pylint: disable=g-import-not-at-top
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    message = str(e).replace("ERROR:: ", "").strip()
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def no_arguments(argv) -> None:
  """An entry point's check of ``app.run``'s ``argv``: anything beyond the
  program (a positional argument) exits with a one-line error, status 1."""
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {list(argv[1:])} (flags take the "
             "form --name=value)")


@contextlib.contextmanager
def exit_on_error(flagged: Tuple[Type[BaseException], ...] = (),
                  plain: Tuple[Type[BaseException], ...] = ()):
  """An entry point's body: a ``UserError`` (or one of ``flagged``, e.g.
  ``ValueError`` while flags become a configuration: those messages start
  with the flag's name) exits with ``error: --<message>``, one of ``plain``
  (e.g. ``FloatingPointError``: a search that diverged) with
  ``error: <message>``; both with status 1 and no traceback.
  """
  try:
    yield
  except (UserError, *flagged) as e:
    sys.exit(f"error: --{e}")
  except plain as e:
    sys.exit(f"error: {e}")


class UserError(ValueError):
  """A bad input; the message starts with the flag or file name at fault."""


class RunError(UserError):
  """A run that cannot start or go on: a workdir, checkpoint, strategy or
  ``init_from`` that does not fit the flags."""


class DataError(UserError):
  """A dataset that cannot be used; the message starts with ``dataset``."""
