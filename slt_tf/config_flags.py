"""Command-line flags derived from the configuration dataclasses.

Every field of ``TrainConfig``'s groups, by its flat name (the ticket's
``--keep_ratio``, the optimiser's ``--learning_rate``, the evaluations'
``--eval_samples``...), but the derived ones (the layers' ``mode``, which
``--method`` sets) is one absl flag with the field's default and help
(``slt_tf.config_fields``). The search's entry point, the
sweep, the study and the benchmarks all call ``define`` and ``config``, so a
new field is a new flag everywhere, with one default.
"""

import dataclasses
import typing
from typing import Iterable, Optional

from absl import flags

from slt_tf.config import TrainConfig
from slt_tf import config_fields
from slt_tf.resolve import resolve

FLAGS = flags.FLAGS
_DEFINERS = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer,
             float: flags.DEFINE_float, str: flags.DEFINE_string,
             list: flags.DEFINE_list}


def _ours(name: str, flag_values) -> bool:
  """Whether ``flag_values`` has the flag ``name`` from ``define``."""
  return (name in flag_values
          and flag_values.find_module_defining_flag(name) == __name__)


def _fields():
  """(flag name, field) of every flag, groups expanded (derived fields, e.g.
  the ticket's mode, have none)."""
  for name, _, field in config_fields.leaves(TrainConfig):
    if config_fields.has_flag(field):
      yield name, field


def _base_type(annotation):
  """``Optional[X]`` -> X; anything else unchanged."""
  args = [a for a in typing.get_args(annotation) if a is not type(None)]
  if typing.get_origin(annotation) is typing.Union and len(args) == 1:
    return args[0]
  return annotation


def define(defaults: Optional[dict] = None, exclude: Iterable[str] = (),
           flag_values: flags.FlagValues = FLAGS) -> None:
  """Defines one flag per configuration field (idempotent).

  Args:
    defaults: other defaults for some flags (benchmarks, presets).
    exclude: fields that get no flag (the caller sets them).
    flag_values: where to define them (absl's global flags by default).

  Raises:
    TypeError: a field of a type no flag kind fits (a programming error).
  """
  defaults, exclude = dict(defaults or {}), set(exclude)
  for name, field in _fields():
    if name in exclude or _ours(name, flag_values):
      continue
    help_text = field.metadata.get(config_fields.HELP)
    if help_text is None:
      raise TypeError(f"field {name} has no help text "
                      "(declare it with config_fields.field)")
    default = defaults.get(name, None if field.default is
                           dataclasses.MISSING else field.default)
    kind = _base_type(field.type)
    if typing.get_origin(kind) is tuple:  # Tuple[int, ...]: a list flag.
      kind, default = list, [str(v) for v in default or ()]
    if kind not in _DEFINERS:
      raise TypeError(f"field {name}: no flag kind for {field.type}")
    _DEFINERS[kind](name, default, help_text, flag_values=flag_values,
                    module_name=__name__)


def _value(name, field, flag_values):
  value = flag_values[name].value
  if typing.get_origin(_base_type(field.type)) is tuple:
    try:
      return tuple(int(v) for v in value)
    except ValueError:
      raise ValueError(f"{name} must be integers, got "
                       f"{','.join(value)}") from None
  return value


def parse_value(name: str, text: str,
                flag_values: flags.FlagValues = FLAGS):
  """The configuration value of ``--name=text``, parsed as the flag would
  parse it (for ``config``'s overrides: presets, tuning pilots).

  Raises:
    ValueError: starting with ``name``: not a configuration flag, or a value
      the flag does not accept.
  """
  if not _ours(name, flag_values):
    raise ValueError(f"{name} is not a flag of the search")
  field = dict(_fields())[name]
  try:
    value = flag_values[name].parser.parse(text)
  except (ValueError, TypeError) as e:
    raise ValueError(f"{name}: {text!r} is not a valid value ({e})") from None
  if typing.get_origin(_base_type(field.type)) is tuple:
    try:
      return tuple(int(v) for v in value)
    except ValueError:
      raise ValueError(f"{name} must be integers, got {text}") from None
  return value


def config(flag_values: flags.FlagValues = FLAGS, **overrides
           ) -> TrainConfig:
  """The ``TrainConfig`` of the parsed flags (and ``overrides``), with what
it takes from its data filled in (``slt_tf.resolve``).

  Raises:
    ValueError: starting with the name of the flag at fault.
  """
  values = {name: _value(name, field, flag_values)
            for name, field in _fields() if _ours(name, flag_values)}
  values.update(overrides)
  return resolve(TrainConfig.make(**values))
