"""Atomic file writing: outputs are complete or absent, never half-written."""

import contextlib
import errno
import fcntl
import io
import json
import math
import os
import re
import secrets
from typing import Callable, Iterable, Iterator, List, Optional

import numpy as np


def write_atomic(path: str, data: bytes) -> None:
  """Writes bytes to ``path`` through a temporary file and a rename.

  The file gets the permissions a plain ``open(path, "wb")`` would give (0666
  less the umask): ``tempfile.mkstemp`` would leave every output 0600,
  unreadable to the other users of a shared workdir or model directory.
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  tmp = os.path.join(directory, f".tmp-{secrets.token_hex(8)}")
  fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def write_npz(path: str, arrays: dict) -> None:
  """Writes arrays as an uncompressed ``.npz`` file, atomically."""
  buffer = io.BytesIO()
  np.savez(buffer, **arrays)
  write_atomic(path, buffer.getvalue())


def _finite_or_none(value):
  if isinstance(value, float) and not math.isfinite(value):
    return None
  if isinstance(value, dict):
    return {k: _finite_or_none(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_finite_or_none(v) for v in value]
  return value


def write_json(path: str, value) -> None:
  """Writes strict JSON atomically; NaN and infinities become null."""
  write_atomic(path, json.dumps(_finite_or_none(value), indent=2,
                                sort_keys=True, allow_nan=False).encode())


@contextlib.contextmanager
def locked(path: str) -> Iterator[None]:
  """Holds an exclusive lock on ``path + ".lock"`` (created if missing) for
  the body: processes that write one output take turns."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path + ".lock", "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    yield


def merge_json_rows(path: str, new_rows: Iterable[dict],
                    key: Callable[[dict], tuple],
                    keep: Optional[Callable[[dict], bool]] = None,
                    then: Optional[Callable[[List[dict]], None]] = None
                    ) -> List[dict]:
  """Merges ``new_rows`` into the JSON list of rows in ``path``, under an
  exclusive lock, and returns all of them.

  Processes that run shares of one plan can share the file: a row replaces
  the stored row of the same ``key`` in place, others are appended, and no
  process's rows are lost. Stored rows for which ``keep`` is false (rows of
  settings no longer planned) are dropped.

  Args:
    then: called with all rows before the lock is released. What it writes
      from them (a report) is then never overwritten by a process that
      merged earlier and so holds fewer rows.
  """
  with locked(path):
    rows = []
    if os.path.exists(path):
      with open(path) as f:
        rows = json.load(f)
    if keep is not None:
      rows = [r for r in rows if keep(r)]
    index = {key(r): i for i, r in enumerate(rows)}
    for r in new_rows:
      if key(r) in index:
        rows[index[key(r)]] = r
      else:
        index[key(r)] = len(rows)
        rows.append(r)
    write_json(path, rows)
    if then is not None:
      then(rows)
    return rows


def out_of_space(error: BaseException) -> bool:
  """Whether ``error`` (an ``OSError``, or TensorFlow's error of a write) is a
  full disk or an exhausted quota."""
  if isinstance(error, OSError) and error.errno is not None:
    return error.errno in (errno.ENOSPC, errno.EDQUOT)
  return os.strerror(errno.ENOSPC) in str(error)


def failed_path(error: BaseException, default: str) -> str:
  """The file a failed write was writing: ``OSError.filename``, the path in
  a TensorFlow error's message, else ``default``."""
  if isinstance(error, OSError) and error.filename:
    return str(error.filename)
  found = re.search(r"(/[^\s;:]+)[;:]? " + re.escape(os.strerror(errno.ENOSPC)),
                    str(error))
  return found.group(1) if found else default


def no_space_text(error: BaseException, default: str) -> str:
  """``PATH (errno 28, No space left on device)`` for a full-disk error."""
  return (f"{failed_path(error, default)} (errno {errno.ENOSPC}, "
          f"{os.strerror(errno.ENOSPC)})")
