"""The CPU runtime: oneDNN kernels on every x86 CPU, and what the machine is.

TensorFlow 2.21 turns its oneDNN kernels on by default only on CPUs with
AVX-512-class features. Elsewhere (an AMD EPYC with AVX2, say) it runs Eigen's
kernels, whose convolution input gradient collapses on small feature maps: a
search step there ran 1.6-2.4x slower than with oneDNN. Importing ``slt_tf``
therefore sets ``TF_ENABLE_ONEDNN_OPTS=1`` before TensorFlow is loaded, unless
the user has set the variable (then it is respected) or TensorFlow was
imported first (then it is too late, and ``describe`` says so).

This module imports nothing heavy at import time: ``slt_tf/__init__.py`` runs
``enable_onednn`` before any submodule loads TensorFlow.
"""

import functools
import os
import platform
import sys

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"

# Who decided the oneDNN setting: set by ``enable_onednn``.
_source = None


def enable_onednn() -> str:
  """Turns oneDNN on for this process unless the user decided otherwise.

  Returns:
    Who decided: "slt_tf" (set here), "user" (the variable was already set),
    or "tensorflow imported first" (too late to change; TensorFlow's default).
  """
  global _source
  if _source is not None:
    return _source
  if ONEDNN_VARIABLE in os.environ:
    _source = "user"
  elif "tensorflow" in sys.modules:
    _source = "tensorflow imported first"
  else:
    os.environ[ONEDNN_VARIABLE] = "1"
    _source = "slt_tf"
  return _source


def onednn_enabled() -> bool:
  """Whether TensorFlow runs its oneDNN CPU kernels in this process."""
  from tensorflow.python.util import _pywrap_util_port  # pylint: disable=g-import-not-at-top
  return bool(_pywrap_util_port.IsMklEnabled())


def _cpuinfo(key: str) -> str:
  """The first ``key`` line of /proc/cpuinfo ("" where there is none)."""
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith(key):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return ""


def _cpu_model() -> str:
  return _cpuinfo("model name") or platform.processor() or platform.machine()


def isa_level(cpu_flags=None) -> str:
  """The widest x86 vector extension of the CPU: "AVX-512", "AVX2", "AVX",
  "SSE4.2", or the machine name on other architectures."""
  cpu_flags = set(_cpuinfo("flags").split() if cpu_flags is None
                  else cpu_flags)
  for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"),
                     ("sse4_2", "SSE4.2")):
    if flag in cpu_flags:
      return name
  return platform.machine()


# The CPU's native low-precision arithmetic, as /proc/cpuinfo names it.
_LOW_PRECISION_FLAGS = (("avx512_bf16", "AVX512_BF16"),
                        ("amx_bf16", "AMX_BF16"),
                        ("avx512_fp16", "AVX512_FP16"),
                        ("amx_fp16", "AMX_FP16"))


def low_precision(cpu_flags=None) -> str:
  """The CPU's native bfloat16/float16 extensions, comma-separated
  ("AVX512_BF16,AMX_BF16"), or "none": without them bfloat16 is emulated."""
  cpu_flags = set(_cpuinfo("flags").split() if cpu_flags is None
                  else cpu_flags)
  found = [name for flag, name in _LOW_PRECISION_FLAGS if flag in cpu_flags]
  return ",".join(found) or "none"


def cores() -> int:
  """CPU cores this process may run on."""
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # Not Linux.
    return os.cpu_count() or 1


def machine() -> dict:
  """The CPU, without importing TensorFlow (for the PyTorch reference too):
  ``cpu`` (model name), ``isa`` (``isa_level``), ``cores``."""
  return {"cpu": _cpu_model(), "isa": isa_level(), "cores": cores()}


def machine_name() -> str:
  """``machine()`` in a few words, as results rows record it: "MODEL (ISA,
  N cores)"."""
  m = machine()
  return f"{m['cpu']} ({m['isa']}, {m['cores']} cores)"


@functools.lru_cache(maxsize=None)
def describe() -> dict:
  """The machine and runtime, as every benchmark figure names them.

  Returns:
    ``machine()``'s fields, ``low_precision`` (``low_precision()``), then
    ``tensorflow`` (version), ``onednn`` (bool:
    the kernels in use), ``onednn_source`` (who decided, see
    ``enable_onednn``), ``gpu`` (the first GPU's name or None).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  gpus = tf.config.list_physical_devices("GPU")
  return {**machine(), "low_precision": low_precision(),
          "tensorflow": tf.__version__,
          "onednn": onednn_enabled(),
          "onednn_source": enable_onednn(),
          "gpu": gpus[0].name if gpus else None}


def summary() -> str:
  """``describe()`` as one log line."""
  d = describe()
  decided = {"slt_tf": "turned on by slt_tf; set TF_ENABLE_ONEDNN_OPTS=0 to "
                       "turn it off",
             "user": "as TF_ENABLE_ONEDNN_OPTS says",
             "tensorflow imported first": "TensorFlow's default: it was "
                                          "imported before slt_tf"}
  return (f"{d['cpu']} ({d['isa']}, {d['cores']} cores), TensorFlow "
          f"{d['tensorflow']}, oneDNN {'on' if d['onednn'] else 'off'} "
          f"({decided[d['onednn_source']]})"
          + (f", GPU {d['gpu']}" if d["gpu"] else ""))


_logged = False


def log_once() -> None:
  """Logs ``summary()`` the first time it is called in this process."""
  global _logged
  if not _logged:
    from absl import logging  # pylint: disable=g-import-not-at-top
    logging.info("runtime: %s", summary())
    _logged = True
