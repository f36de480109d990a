"""Keyed on-disk caches of arrays (real statistics, trained feature nets).

A cache entry is an ``.npz`` file whose name is a digest of its key and which
also stores the key itself. An entry is used only when the stored key equals
the requested one, so a changed dataset, resolution, extractor, weights file or
count can never pick up stale numbers, and a truncated or corrupted file is
recomputed rather than trusted.
"""

import hashlib
import json
import os
from typing import Callable, Dict, Optional, Tuple

from absl import logging
import numpy as np

from slt_tf import fileio

_KEY_ENTRY = "__cache_key__"


def default_dir() -> str:
  """``$SLT_TF_CACHE``, else ``$XDG_CACHE_HOME/slt_tf``, else ``~/.cache/slt_tf``."""
  if os.environ.get("SLT_TF_CACHE"):
    return os.environ["SLT_TF_CACHE"]
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
      os.path.expanduser("~"), ".cache")
  return os.path.join(base, "slt_tf")


def canonical_key(key: dict) -> str:
  """The key as canonical JSON (sorted keys, no whitespace variance)."""
  return json.dumps(key, sort_keys=True, separators=(",", ":"))


def entry_path(cache_dir: str, kind: str, key: dict) -> str:
  """Where the entry for ``key`` lives: ``cache_dir/kind/<sha256 prefix>.npz``."""
  digest = hashlib.sha256(canonical_key(key).encode()).hexdigest()[:24]
  return os.path.join(cache_dir, kind, f"{digest}.npz")


def file_digest(path: str) -> str:
  """SHA-256 of a file's bytes (hex, first 16 characters): a weights identity."""
  sha = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      sha.update(block)
  return sha.hexdigest()[:16]


def load(path: str, key: dict) -> Optional[Dict[str, np.ndarray]]:
  """The arrays stored at ``path`` if it holds exactly ``key``; else None.

  A missing file returns None silently; an unreadable file or a different key
  returns None with a warning naming the file.
  """
  if not os.path.exists(path):
    return None
  try:
    with np.load(path, allow_pickle=False) as data:
      stored = str(data[_KEY_ENTRY])
      arrays = {k: data[k] for k in data.files if k != _KEY_ENTRY}
  except Exception as e:  # pylint: disable=broad-except
    logging.warning("cache file %s is unreadable (%s); recomputing", path, e)
    return None
  if stored != canonical_key(key):
    logging.warning("cache file %s holds a different key; recomputing "
                    "(stored %s, wanted %s)", path, stored, canonical_key(key))
    return None
  return arrays


def save(path: str, key: dict, arrays: Dict[str, np.ndarray]) -> None:
  """Writes ``arrays`` and ``key`` to ``path`` atomically."""
  fileio.write_npz(path, {_KEY_ENTRY: np.array(canonical_key(key)), **arrays})


def load_or_compute(path: str, key: dict,
                    compute: Callable[[], Dict[str, np.ndarray]]
                    ) -> Tuple[Dict[str, np.ndarray], bool]:
  """The entry at ``path`` for ``key``, computed and saved when missing;
  returns (arrays, whether they were computed here).

  Processes that want one entry at once (a study's shards, starting
  together) take turns under a lock on the entry: the first computes it, the
  others then load it instead of computing it again.
  """
  cached = load(path, key)
  if cached is not None:
    return cached, False
  with fileio.locked(path):
    cached = load(path, key)  # Written while this process waited.
    if cached is not None:
      return cached, False
    arrays = compute()
    save(path, key, arrays)
    return arrays, True
