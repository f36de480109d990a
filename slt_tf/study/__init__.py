"""Studies: several methods, keep ratios and seeds, evaluated and reported.

* ``plan``: the settings a study runs (``study_plan``, and ``sweep_plan``,
  the preset behind ``python -m slt_tf.sweep``).
* ``runner``: each setting searched and evaluated in its resumable workdir.
* ``report``: tables, targets and the study's report; the sweep's table.
* ``figures``: FID against keep ratio, loss curves, sample grids.

``python -m slt_tf.study`` (``__main__``) runs the reproduction study.
"""
