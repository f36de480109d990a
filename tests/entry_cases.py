"""Runs an entry point's ``main`` on several command lines in one process.

  python tests/entry_cases.py MODULE CASES_JSON

``CASES_JSON`` is a JSON list of argument lists. For each, the flags are
reset, parsed as ``app.run`` parses them (``slt_tf.errors.parse_flags``) and
``MODULE.main`` runs; the result is one JSON line on stdout per case:
{"status": exit status, "stderr": what it wrote, the exit message last,
"traceback": the traceback of an exception other than ``SystemExit``}.

Refusals of bad flags happen before any work, so one interpreter (one
TensorFlow import) can check many of them; ``testutil.entry_cases`` starts
it, and each entry point keeps one test of a real process's exit status.
"""

import contextlib
import importlib
import io
import json
import os
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The repository's package, as ``python -m`` from its root would import it.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import flags  # pylint: disable=g-import-not-at-top
from absl import logging  # pylint: disable=g-import-not-at-top

from slt_tf import errors  # pylint: disable=g-import-not-at-top


def _run(main, args) -> dict:
  flags.FLAGS.unparse_flags()
  stderr = io.StringIO()
  status, trace = 0, None
  with contextlib.redirect_stderr(stderr):
    try:
      main(errors.parse_flags([sys.argv[1], *args]))
    except SystemExit as e:
      if isinstance(e.code, str):  # Python prints it and exits with 1.
        print(e.code, file=sys.stderr)
        status = 1
      else:
        status = e.code or 0
    except Exception:  # pylint: disable=broad-except
      status, trace = 1, traceback.format_exc()
  return {"status": status, "stderr": stderr.getvalue(), "traceback": trace}


def main():
  module = importlib.import_module(sys.argv[1])
  if hasattr(module, "__path__"):  # A package: ``python -m`` runs __main__.
    module = importlib.import_module(sys.argv[1] + ".__main__")
  logging.set_verbosity(logging.WARNING)
  for args in json.loads(sys.argv[2]):
    print(json.dumps(_run(module.main, args)), flush=True)


if __name__ == "__main__":
  main()
