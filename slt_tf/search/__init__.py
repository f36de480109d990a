"""The moment-matching search, one concept a module.

* ``latents``: the generator's inputs, pure functions of (seed, step).
* ``distribution``: strategies, the chief, lost workers.
* ``state``: what a step reads and updates (``build_state``).
* ``finetune``: the dense generator started from a ticket's ``W * M``.
* ``step``: the compiled step (``train_step_fn``).
* ``summaries``: console lines, TensorBoard, sample grids, mask statistics.
* ``loop``: ``run(config, flags_text, hooks)``, with checkpoints and resume.

Evaluation is not here: ``slt_tf.train_lib`` hands the loop its hooks.
"""
