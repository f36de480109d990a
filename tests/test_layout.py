"""The package's layout: no import cycle (function-level imports count) and no
module over 500 lines. Read from the source files, nothing is imported."""

import ast
import os

import tensorflow as tf

import testutil

PACKAGE = os.path.join(testutil.REPO, "slt_tf")
MAX_LINES = 500


def _modules() -> dict:
  """Dotted module name -> file path, for every module of the package."""
  found = {}
  for root, _, files in os.walk(PACKAGE):
    for name in files:
      if not name.endswith(".py"):
        continue
      path = os.path.join(root, name)
      parts = os.path.relpath(path, testutil.REPO)[:-3].split(os.sep)
      if parts[-1] == "__init__":
        parts = parts[:-1]
      found[".".join(parts)] = path
  return found


def import_graph(modules: dict) -> dict:
  """Module -> the package modules it imports, at any level of its code.

  ``from a.b import c`` names module ``a.b.c`` when that is a module, else
  ``a.b``. Parent packages a module lives in are not edges: Python runs them
  first by design, and their ``__init__`` importing their children is the
  usual layout, not a cycle.
  """
  graph = {}
  for name, path in modules.items():
    with open(path) as f:
      tree = ast.parse(f.read(), path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(tree):
      if isinstance(node, ast.Import):
        candidates = [alias.name for alias in node.names]
      elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
          anchor = package.split(".")
          anchor = anchor[:len(anchor) - node.level + 1]
          base = ".".join(anchor + ([base] if base else []))
        candidates = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in
                      modules else base for alias in node.names]
      else:
        continue
      for target in candidates:
        while target and target not in modules:
          target = target.rpartition(".")[0]
        if target and target != name and not name.startswith(target + "."):
          targets.add(target)
    graph[name] = targets
  return graph


def find_cycle(graph: dict):
  """One import cycle as a list of modules, or None."""
  state, stack = {}, []

  def visit(node):
    state[node] = "open"
    stack.append(node)
    for nxt in sorted(graph.get(node, ())):
      if state.get(nxt) == "open":
        return stack[stack.index(nxt):] + [nxt]
      if nxt not in state:
        cycle = visit(nxt)
        if cycle:
          return cycle
    stack.pop()
    state[node] = "done"
    return None

  for node in sorted(graph):
    if node not in state:
      cycle = visit(node)
      if cycle:
        return cycle
  return None


class LayoutTest(tf.test.TestCase):

  def testPackage_HasNoImportCycle(self):
    cycle = find_cycle(import_graph(_modules()))
    self.assertIsNone(cycle, f"import cycle: {' -> '.join(cycle or [])}")

  def testFindCycle_SeesAFunctionLevelCycle(self):
    """The checker itself, on a made-up graph, so that it can fail."""
    self.assertEqual(find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}),
                     ["a", "b", "c", "a"])
    self.assertIsNone(find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}))

  def testImportGraph_CountsImportsInsideFunctions(self):
    graph = import_graph(_modules())
    # slt_tf.serving_client imports slt_tf.images inside a function.
    self.assertIn("slt_tf.images", graph["slt_tf.serving_client"])

  def testModules_AtMost500Lines(self):
    long = {name: n for name, path in _modules().items()
            if (n := sum(1 for _ in open(path))) > MAX_LINES}
    self.assertEqual(long, {}, "modules over 500 lines")


if __name__ == "__main__":
  tf.test.main()
