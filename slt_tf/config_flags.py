"""Command-line flags derived from the configuration dataclasses.

Every field of ``TrainConfig`` (and of its ``TicketOptions``, flattened: the
ticket's ``--keep_ratio``, ``--seed``...) but the derived ones (the layers'
``mode``, which ``--method`` sets) is one absl flag with the field's
default and help (``slt_tf.config_fields``). The search's entry point, the
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
from slt_tf.ticket.options import TicketOptions

FLAGS = flags.FLAGS
_NESTED = {"ticket": TicketOptions}
_DEFINERS = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer,
             float: flags.DEFINE_float, str: flags.DEFINE_string,
             list: flags.DEFINE_list}


def _ours(name: str, flag_values) -> bool:
  """Whether ``flag_values`` has the flag ``name`` from ``define``."""
  return (name in flag_values
          and flag_values.find_module_defining_flag(name) == __name__)


def _fields():
  """The field of every flag, the ticket's fields flattened (derived fields,
  e.g. the ticket's mode, have none)."""
  for field in dataclasses.fields(TrainConfig):
    if field.name in _NESTED:
      for inner in dataclasses.fields(_NESTED[field.name]):
        if config_fields.has_flag(inner):
          yield inner
    elif config_fields.has_flag(field):
      yield field


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
  for field in _fields():
    if field.name in exclude or _ours(field.name, flag_values):
      continue
    help_text = field.metadata.get(config_fields.HELP)
    if help_text is None:
      raise TypeError(f"field {field.name} has no help text "
                      "(declare it with config_fields.field)")
    default = defaults.get(field.name, None if field.default is
                           dataclasses.MISSING else field.default)
    kind = _base_type(field.type)
    if typing.get_origin(kind) is tuple:  # Tuple[int, ...]: a list flag.
      kind, default = list, [str(v) for v in default or ()]
    if kind not in _DEFINERS:
      raise TypeError(f"field {field.name}: no flag kind for {field.type}")
    _DEFINERS[kind](field.name, default, help_text, flag_values=flag_values,
                    module_name=__name__)


def _value(field, flag_values):
  value = flag_values[field.name].value
  if typing.get_origin(_base_type(field.type)) is tuple:
    try:
      return tuple(int(v) for v in value)
    except ValueError:
      raise ValueError(f"{field.name} must be integers, got "
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
  field = next(f for f in _fields() if f.name == name)
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
  values = {}
  for field in dataclasses.fields(TrainConfig):
    if field.name in _NESTED:
      inner = {}
      for f in dataclasses.fields(_NESTED[field.name]):
        if f.name in overrides:
          inner[f.name] = overrides.pop(f.name)
        elif _ours(f.name, flag_values):
          inner[f.name] = _value(f, flag_values)
      values[field.name] = _NESTED[field.name](**inner)
    elif _ours(field.name, flag_values):
      values[field.name] = _value(field, flag_values)
  values.update(overrides)
  return resolve(TrainConfig(**values))
