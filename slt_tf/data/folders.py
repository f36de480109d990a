"""Image folders: a dataset of one's own files, ``--dataset=folder:PATH``.

The layout follows Keras's ``image_dataset_from_directory``:

* ``PATH/<class>/...``: one subfolder per class gives the labels (class
  names sorted, label i is the i-th name); files at any depth below a class
  folder belong to it.
* ``PATH/*.png`` (image files directly under PATH): an unlabelled folder; every
  image under PATH counts, at any depth.
* ``PATH/train/``, ``PATH/validation/``, ``PATH/test/``: explicit splits, each
  laid out as above (with the same classes).

Without explicit splits, a deterministic hold-out assigns each file by a
seeded hash of its path relative to PATH: a fraction ``holdout`` (default
0.2) is held out, half of it ``validation`` (where checkpoints are selected)
and half ``test`` (where metrics are reported). A file's split depends on its
own path alone, so adding files never moves an existing file between splits;
every class gets about the same fraction (the hold-out is stratified in
expectation), and a class left without a file in a split is an error.
"""

import dataclasses
import functools
import hashlib
import os
from typing import Dict, List, Tuple

from slt_tf import errors

PREFIX = "folder:"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLITS = ("train", "validation", "test")
HOLDOUT = 0.2
# Part of every file's hash: changing it would reassign every file.
_SPLIT_SALT = b"slt_tf.folders/1"


@dataclasses.dataclass(frozen=True)
class Folder:
  """A scanned image folder.

  Attributes:
    root: the folder.
    class_names: sorted class names; empty for an unlabelled folder.
    splits: split name -> ((path, label), ...) in sorted path order; label
      is -1 in an unlabelled folder.
    explicit: whether the splits are subfolders (else the hashed hold-out).
    holdout: the held-out fraction of the hashed hold-out.
    channels: 1 when every file's header says gray (``file_channels``),
      else 3.
  """
  root: str
  class_names: Tuple[str, ...]
  splits: Dict[str, Tuple[Tuple[str, int], ...]]
  explicit: bool
  holdout: float
  channels: int = 3

  @property
  def labelled(self) -> bool:
    return bool(self.class_names)

  def files(self, split: str) -> List[Tuple[str, int]]:
    """(path, label) pairs of ``split``.

    Raises:
      DataError: an unknown split, or one without files.
    """
    name = f"{PREFIX}{self.root}"
    if split not in SPLITS:
      raise errors.DataError(f"dataset {name}: an image folder has the splits "
                             f"{SPLITS}, not {split!r}")
    files = self.splits[split]
    if not files:
      raise errors.DataError(f"dataset {name}: split {split!r} has no images "
                             f"({self.split_rule()})")
    return list(files)

  def split_rule(self) -> str:
    """How the splits are made, for messages."""
    if self.explicit:
      return "its subfolder is empty"
    return (f"{self.holdout:g} of the files are held out by a hash of their "
            "path; add images or raise --holdout")


def is_folder(dataset: str) -> bool:
  return dataset.startswith(PREFIX)


def split_of(relative_path: str, holdout: float) -> str:
  """The split of a file, from the seeded hash of its relative path alone."""
  digest = hashlib.sha256(_SPLIT_SALT + relative_path.replace(
      os.sep, "/").encode()).digest()
  u = int.from_bytes(digest[:8], "big") / 2.0**64
  if u < holdout / 2:
    return "validation"
  if u < holdout:
    return "test"
  return "train"


_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"GIF87a", b"GIF89a", b"BM")
_PNG_SIGNATURE = _SIGNATURES[0]
# JPEG start-of-frame markers (baseline, progressive, lossless...): the
# component count follows the marker's length, precision, height and width.
_JPEG_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _head(path: str) -> bytes:
  with open(path, "rb") as f:
    return f.read(1 << 16)


def _check_header(head: bytes, path: str, root: str) -> None:
  if not head.startswith(_SIGNATURES):
    raise errors.DataError(
        f"dataset {PREFIX}{root}: {path} is not a PNG, JPEG, GIF or BMP "
        "image (its first bytes say otherwise); remove or replace it")


# How a complete file of each kind ends (checked on the last _TAIL bytes): a
# file cut short (an interrupted copy) would otherwise fail deep in the
# decoder, in the middle of a search, without its name. A JPEG may carry a
# trailer after its end-of-image marker, so the marker only has to be near
# the end; a BMP's header holds its size; GIFs are not checked.
_TAIL = 4096
_PNG_END = b"IEND\xaeB`\x82"


def _tail(path: str) -> Tuple[bytes, int]:
  with open(path, "rb") as f:
    size = f.seek(0, os.SEEK_END)
    f.seek(max(0, size - _TAIL))
    return f.read(), size


def _check_complete(head: bytes, path: str, root: str) -> None:
  tail, size = _tail(path)
  if head.startswith(_PNG_SIGNATURE):
    kind, complete, end = "PNG", tail.endswith(_PNG_END), "its IEND chunk"
  elif head.startswith(b"\xff\xd8"):
    kind, complete, end = "JPEG", b"\xff\xd9" in tail, "an end-of-image marker"
  elif head.startswith((b"GIF87a", b"GIF89a")):
    return  # TensorFlow decodes a GIF without its trailer; no cheap check.
  else:  # BMP: its header holds the file's size.
    declared = int.from_bytes(head[2:6], "little") if len(head) >= 6 else 0
    kind, complete, end = ("BMP", size >= declared,
                           f"{declared} bytes, as its header says")
  if not complete:
    raise errors.DataError(
        f"dataset {PREFIX}{root}: {path} is cut short (a {kind} file ends "
        f"with {end}; this one does not: an interrupted copy?); remove or "
        "replace it")


def _header_channels(head: bytes) -> int:
  if head.startswith(_PNG_SIGNATURE) and len(head) > 25:
    return 1 if head[25] in (0, 4) else 3
  if head.startswith(b"\xff\xd8"):
    i = 2
    while i + 9 < len(head):
      if head[i] != 0xFF:
        break
      marker = head[i + 1]
      if marker in _JPEG_SOF:
        return 1 if head[i + 9] == 1 else 3
      i += 2 + int.from_bytes(head[i + 2:i + 4], "big")
  return 3


def file_channels(path: str) -> int:
  """1 for a gray PNG or JPEG, else 3, from the file's header alone.

  PNG colour types 0 and 4 (gray, gray with alpha) and single-component JPEGs
  are gray; everything else (colour, palettes, BMP, GIF, unreadable headers)
  counts as colour, so a folder is called gray only when every file says so.
  """
  return _header_channels(_head(path))


def _images_under(path: str) -> List[str]:
  found = []
  for root, dirs, names in os.walk(path):
    dirs.sort()
    found.extend(os.path.join(root, n) for n in sorted(names)
                 if n.lower().endswith(IMAGE_EXTENSIONS)
                 and not n.startswith("."))
  return found


def _labelled(path: str) -> Tuple[Tuple[str, ...], List[Tuple[str, int]]]:
  """Class names and (file, label) pairs of one folder (no split layer)."""
  loose = [n for n in os.listdir(path)
           if n.lower().endswith(IMAGE_EXTENSIONS)
           and os.path.isfile(os.path.join(path, n))]
  classes = sorted(n for n in os.listdir(path) if not n.startswith(".")
                   and os.path.isdir(os.path.join(path, n))
                   and _images_under(os.path.join(path, n)))
  if loose or not classes:
    return (), [(f, -1) for f in _images_under(path)]
  pairs = []
  for label, name in enumerate(classes):
    pairs.extend((f, label) for f in _images_under(os.path.join(path, name)))
  return tuple(classes), pairs


@functools.lru_cache(maxsize=32)
def _scan(root: str, holdout: float, stamp) -> Folder:
  del stamp  # Part of the cache key only.
  name = f"{PREFIX}{root}"
  explicit = [s for s in SPLITS if os.path.isdir(os.path.join(root, s))]
  if explicit:
    if "train" not in explicit:
      raise errors.DataError(f"dataset {name}: has {explicit} subfolders "
                             "but no train/")
    splits, class_names = {}, None
    for split in SPLITS:
      directory = os.path.join(root, split)
      names, pairs = (_labelled(directory) if os.path.isdir(directory)
                      else ((), []))
      if class_names is None:
        class_names = names
      elif pairs and names != class_names:
        raise errors.DataError(f"dataset {name}: {split}/ has the classes "
                               f"{list(names)}, train/ has {list(class_names)}")
      splits[split] = tuple(pairs)
    folder = Folder(root, class_names, splits, True, holdout)
  else:
    class_names, pairs = _labelled(root)
    splits = {s: [] for s in SPLITS}
    for path, label in pairs:
      splits[split_of(os.path.relpath(path, root), holdout)].append(
          (path, label))
    folder = Folder(root, class_names, {k: tuple(v) for k, v in
                                        splits.items()}, False, holdout)
  if not any(folder.splits.values()):
    raise errors.DataError(f"dataset {name}: no images "
                           f"({', '.join(IMAGE_EXTENSIONS)}) under it")
  gray = True
  for pairs in folder.splits.values():
    for path, _ in pairs:
      head = _head(path)  # Read once: checked, and gray or colour.
      _check_header(head, path, root)
      _check_complete(head, path, root)
      gray = gray and _header_channels(head) == 1
  folder = dataclasses.replace(folder, channels=1 if gray else 3)
  for split, pairs in folder.splits.items():
    if folder.labelled and pairs:
      counts = [0] * len(folder.class_names)
      for _, label in pairs:
        counts[label] += 1
      empty = [c for c, n in zip(folder.class_names, counts) if n == 0]
      if empty and (split == "train" or not folder.explicit):
        how = "add some" if folder.explicit else folder.split_rule()
        raise errors.DataError(
            f"dataset {name}: class {empty[0]!r} has no image in split "
            f"{split!r} ({how})")
  return folder


def scan(dataset: str, holdout: float = HOLDOUT) -> Folder:
  """The folder of ``dataset`` (``folder:PATH``), scanned (cached until a
  file under it is added, removed or changed).

  Raises:
    DataError: naming the folder: missing, no images, a bad hold-out, a
      class without an image in a split, or a file that is not an image or
      is cut short (named).
  """
  root = os.path.abspath(os.path.expanduser(dataset[len(PREFIX):]))
  if not 0 < holdout < 1:
    raise errors.DataError(f"holdout must be in (0, 1), got {holdout}")
  if not os.path.isdir(root):
    raise errors.DataError(f"dataset {PREFIX}{root}: no such directory")
  return _scan(root, float(holdout), _stamp(root))


def _stamp(root: str):
  """Changes when a file or folder under ``root`` is added, removed or
  rewritten (the newest modification time and the total size, by stat)."""
  latest, count, size = 0, 0, 0
  for directory, _, names in os.walk(root):
    latest = max(latest, os.stat(directory).st_mtime_ns)
    for name in names:
      info = os.stat(os.path.join(directory, name))
      latest, size = max(latest, info.st_mtime_ns), size + info.st_size
    count += len(names)
  return latest, count, size


def content_digest(dataset: str, holdout: float = HOLDOUT) -> str:
  """SHA-256 (16 hex characters) of the folder's files' relative paths,
  labels and bytes: the dataset's identity in caches (a trained evaluator,
  statistics), which a path alone is not. Computed once per folder state:
  every cache of a run asks for it."""
  folder = scan(dataset, holdout)
  return _content_digest(folder.root, folder.holdout, _stamp(folder.root))


@functools.lru_cache(maxsize=32)
def _content_digest(root: str, holdout: float, stamp) -> str:
  folder = _scan(root, holdout, stamp)
  sha = hashlib.sha256()
  for name in SPLITS:
    for path, label in folder.splits[name]:
      sha.update(f"{name}\0{os.path.relpath(path, folder.root)}\0{label}\0"
                 .encode())
      with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
          sha.update(block)
  return sha.hexdigest()[:16]
