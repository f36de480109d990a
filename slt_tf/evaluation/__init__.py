"""Evaluation of generators: metrics, backbones and the evaluator.

* ``metrics``: FID, KID, precision/recall/density/coverage, IS.
* ``backbones``: Inception and the domain evaluator of a labelled dataset.
* ``evaluator``: metrics of a generator on a held-out split; a run's
  checkpoint or SavedModel evaluated and written (``evaluate_workdir``).
* ``results``: where a result goes (by the split's role), and when a stored
  one is reused; ``saved_model_generator``: an export used as a generator.
* ``best``: the best-checkpoint keeper, a hook the search loop is handed.

Evaluators receive a generator, never the trainer: nothing here imports the
search loop.
"""
