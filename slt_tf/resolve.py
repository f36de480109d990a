"""What a configuration takes from its data: the channels the generator draws
and an image folder's class names.

``TrainConfig`` validates without reading any data (and without TensorFlow);
the entry points (through ``config_flags.config``) and ``train_lib.run`` call
``resolve`` once, before anything is built, and ``config.json`` records the
values found.
"""


from slt_tf.config import TrainConfig
from slt_tf.data import datasets
from slt_tf.data import folders


def resolve(config: TrainConfig) -> TrainConfig:
  """``config`` with ``channels`` (when None) and an image folder's
  ``class_names`` (when empty) read from its dataset; ``config`` itself when
  nothing is left to read.

  Raises:
    ValueError: starting with the flag at fault (``dataset``, ...), when the
      data cannot be read.
  """
  found = {}
  try:
    if not config.data.class_names and folders.is_folder(config.data.dataset):
      found["class_names"] = folders.scan(config.data.dataset,
                                          config.data.holdout).class_names
    if config.model.channels is None:
      found["channels"] = config.data.source().channels()
  except datasets.DataError as e:
    raise ValueError(str(e)) from None
  return config.replace(**found) if found else config
