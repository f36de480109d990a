"""Which devices can run a traced graph: TensorFlow's kernel registry.

An op without a kernel for the device its graph is placed on does not fail:
the placer quietly runs it on the host, copying its inputs there and its
outputs back every step (``NthElement``, CPU-only, did that to every score
tensor of a GPU search). ``ops_without_kernel`` finds such ops before a GPU
ever runs the graph.
"""

import collections
from typing import Dict, Set

from tensorflow.python.framework import kernels

# Kernels registered for DEVICE_DEFAULT run on any device (host-memory shape
# ops and function calls).
_ANY_DEVICE = "DEFAULT"


def op_types(graph) -> Dict[str, int]:
  """Op types of ``graph`` and of every function in its library, counted."""
  found = collections.Counter(op.type for op in graph.get_operations())
  for function in graph._functions.values():  # pylint: disable=protected-access
    found.update(node.op for node in function.definition.node_def)
  return dict(found)


def kernel_devices(op_type: str) -> Set[str]:
  """Device types with a registered kernel for ``op_type`` (``"CPU"``,
  ``"GPU"``, ``"DEFAULT"``, ...)."""
  registered = kernels.get_registered_kernels_for_op(op_type).kernel
  return {k.device_type for k in registered}


def ops_without_kernel(graph, device_type: str = "GPU") -> Dict[str, int]:
  """Op types of ``graph`` (its function library included) with no kernel
  for ``device_type`` nor for every device, and how often each occurs."""
  return {op: count for op, count in sorted(op_types(graph).items())
          if not kernel_devices(op) & {device_type, _ANY_DEVICE}}
