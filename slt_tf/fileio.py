"""Atomic file writing: outputs are complete or absent, never half-written."""

import io
import os
import tempfile

import numpy as np


def write_atomic(path: str, data: bytes) -> None:
  """Writes bytes to ``path`` through a temporary file and a rename."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
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
