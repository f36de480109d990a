"""The package's layout: layers that import only downwards, no import cycle
(function-level imports count) and no module over 500 lines. Read from the
source files, nothing is imported."""

import ast
import os

import tensorflow as tf

import testutil

PACKAGE = os.path.join(testutil.REPO, "slt_tf")
MAX_LINES = 500
# The `python -m` entry points: flags -> configuration -> one library call,
# their bodies in the library (`*/command*.py`, `train_lib`).
ENTRY_POINTS = ("train.py", "evaluate.py", "sweep.py", "tune.py",
                "export/__main__.py", "study/__main__.py")
MAX_ENTRY_LINES = 40

# The package's layers, lowest first: a module may import a unit of a lower
# layer only, or its own unit (subpackage or top-level module). Units of one
# layer are peers and never import each other: the search, evaluation and
# export know nothing of one another, and the study and the entry points sit
# above all three. BUILD.md ("Layout") shows the same table.
LAYERS = (
    ("errors", "config_fields", "fileio", "runtime", "replica", "methods",
     "precision", "devices"),
    ("ticket", "data", "eval_settings"),
    ("generators", "features"),
    ("config",),
    ("resolve",),
    ("config_flags", "workdir"),
    ("search", "evaluation", "export"),
    ("train_lib",),
    ("study",),
    # The entry points, and the package's __init__ (it turns oneDNN on).
    ("train", "evaluate", "sweep", "tune", "slt_tf"),
)


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


def unit(module: str) -> str:
  """The layer unit of a module: its subpackage or top-level module."""
  parts = module.split(".")
  return parts[1] if len(parts) > 1 else parts[0]


def upward_imports(graph: dict, layers=LAYERS) -> list:
  """(module, imported module) pairs that break the layering."""
  rank = {name: i for i, names in enumerate(layers) for name in names}
  broken = []
  for module, targets in sorted(graph.items()):
    for target in sorted(targets):
      a, b = unit(module), unit(target)
      if a != b and not rank[a] > rank[b]:
        broken.append((module, target))
  return broken


class LayoutTest(tf.test.TestCase):

  def testEveryUnit_HasALayer(self):
    ranked = {name for names in LAYERS for name in names}
    self.assertEqual({unit(m) for m in _modules()} - ranked, set())

  def testPackage_ImportsOnlyDownwards(self):
    self.assertEqual(upward_imports(import_graph(_modules())), [])

  def testUpwardImports_SeesAPeerAndAnUpwardImport(self):
    """The checker itself, on a made-up graph, so that it can fail."""
    graph = {"slt_tf.evaluation.x": {"slt_tf.search.loop",
                                     "slt_tf.data.cache"},
             "slt_tf.data.cache": {"slt_tf.study.runner"}}
    layers = (("data",), ("search", "evaluation"), ("study",))
    self.assertEqual(upward_imports(graph, layers),
                     [("slt_tf.data.cache", "slt_tf.study.runner"),
                      ("slt_tf.evaluation.x", "slt_tf.search.loop")])

  def testConfiguration_ImportsNoTensorFlowTfdsOrKeras(self):
    """The configuration, its flags' help and the name tables it validates
    against load in a fresh interpreter without the heavy libraries."""
    heavy = ("tensorflow", "tensorflow_datasets", "keras")
    result = testutil.run_python("-c", (
        "import sys; import slt_tf.config; from slt_tf.config import "
        "TrainConfig; TrainConfig.make(workdir='w', arch='examples.dcgan:build'); "
        "import slt_tf.generators, slt_tf.features, slt_tf.ticket; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"))
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertEqual(result.stdout.strip(), "[]")

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
    # slt_tf.export.serving_client imports slt_tf.data.images inside a function.
    self.assertIn("slt_tf.data.images", graph["slt_tf.export.serving_client"])

  def testEntryPoints_AtMost40Lines(self):
    long = {name: n for name in ENTRY_POINTS
            if (n := sum(1 for _ in open(os.path.join(PACKAGE, name))))
            > MAX_ENTRY_LINES}
    self.assertEqual(long, {}, "entry points over 40 lines")

  def testModules_AtMost500Lines(self):
    long = {name: n for name, path in _modules().items()
            if (n := sum(1 for _ in open(path))) > MAX_LINES}
    self.assertEqual(long, {}, "modules over 500 lines")


if __name__ == "__main__":
  tf.test.main()
