"""Flags derived from the configuration dataclasses: one flag per field with
the field's default, and the paper flagfiles composed from their base."""

import contextlib
import dataclasses
import json
import os

from absl import flags
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf import config_flags
from slt_tf.generators import TicketOptions
import testutil

def parse(*args):
  """The ``TrainConfig`` (as JSON values) of a command line, parsed into
  flags of their own (the global flags stay untouched), from the repository
  root as the flagfiles' relative paths expect."""
  values = flags.FlagValues()
  config_flags.define(flag_values=values)
  with contextlib.chdir(testutil.REPO):
    values(["prog", *args])
    return json.loads(config_flags.config(values).to_json())


def flagfile_values(path):
  """``--name=value`` lines of a flagfile, as strings (comments skipped)."""
  values = {}
  for line in open(os.path.join(testutil.REPO, path)):
    line = line.strip()
    if line.startswith("--") and "=" in line:
      name, value = line[2:].split("=", 1)
      values[name] = value
  return values


class ConfigFlagsTest(tf.test.TestCase):

  def testEveryField_IsAFlagWithTheFieldsDefaultAndHelp(self):
    flag_values = flags.FlagValues()
    config_flags.define(flag_values=flag_values)
    derived = {"mode", "class_names"}  # Set from other fields: no flag.
    groups = [f for f in dataclasses.fields(TrainConfig) if f.default_factory
              is not dataclasses.MISSING]
    self.assertEqual([g.name for g in groups],
                     ["model", "ticket", "data", "features", "optim", "eval",
                      "adversarial", "runtime"])
    fields = [f for f in dataclasses.fields(TrainConfig) if f not in groups]
    for group in groups:
      fields += [f for f in dataclasses.fields(group.default_factory)
                 if f.name not in derived]
    names = [f.metadata.get("name", f.name) for f in fields]
    self.assertEqual(len(set(names)), len(names))  # One flag a field.
    for name, field in zip(names, fields):
      flag = flag_values[name]
      default = (None if field.default is dataclasses.MISSING
                 else field.default)
      if isinstance(default, tuple):
        default = [str(v) for v in default]
      self.assertEqual(flag.default, default, name)
      self.assertEqual(flag.help, field.metadata["help"], name)
    self.assertEqual(len(fields), 58)  # As many flags as before the groups.
    for name in derived:
      self.assertNotIn(name, flag_values)

  def testDerivedMode_HasNoFlagAndFollowsTheMethod(self):
    flag_values = flags.FlagValues()
    config_flags.define(flag_values=flag_values)
    self.assertNotIn("mode", flag_values)
    flag_values(["prog", "--workdir=w", "--method=random_dense"])
    self.assertEqual(config_flags.config(flag_values).ticket.mode, "dense")

  def testDefine_Twice_IsHarmlessAndDefaultsCanBeChanged(self):
    flag_values = flags.FlagValues()
    config_flags.define(defaults={"arch": "sngan"}, exclude=("workdir",),
                        flag_values=flag_values)
    config_flags.define(flag_values=flag_values)  # Adds only --workdir.
    self.assertEqual(flag_values["arch"].default, "sngan")
    self.assertIn("workdir", flag_values)
    flag_values(["prog", "--workdir=/tmp/w", "--keep_ratio=0.3"])
    config = config_flags.config(flag_values)
    self.assertEqual((config.model.arch, config.ticket.keep_ratio), ("sngan", 0.3))

  def testParsedFlags_BecomeTheConfigIncludingTheTicket(self):
    config = parse("--workdir=/tmp/w", "--keep_ratio=0.3", "--seed=7",
                   "--feature_layers=1,2", "--last_dense", "--width=16")
    self.assertEqual(config["ticket"]["keep_ratio"], 0.3)
    self.assertEqual(config["ticket"]["seed"], 7)
    self.assertTrue(config["ticket"]["last_dense"])
    self.assertEqual(config["feature_layers"], [1, 2])
    self.assertEqual(config["width"], 16)
    self.assertEqual(config["train_steps"],
                     TrainConfig.make(workdir="-").optim.train_steps)

  def testParseValue_AsTheFlagWouldAndNamesTheFlag(self):
    values = flags.FlagValues()
    config_flags.define(flag_values=values)
    values(["prog"])
    self.assertEqual(config_flags.parse_value("learning_rate", "5e-4", values),
                     5e-4)
    self.assertIs(config_flags.parse_value("last_dense", "false", values),
                  False)
    self.assertEqual(config_flags.parse_value("feature_layers", "1,3", values),
                     (1, 3))
    self.assertEqual(config_flags.parse_value("width", "64", values), 64)
    for name, text, expected in (("width", "wide", "^width: 'wide' is not"),
                                 ("no_such_flag", "1", "^no_such_flag is not"),
                                 ("feature_layers", "a", "^feature_layers")):
      with self.assertRaisesRegex(ValueError, expected):
        config_flags.parse_value(name, text, values)

  def testBadListValue_NamesTheFlag(self):
    with self.assertRaisesRegex(ValueError,
                                "^feature_layers must be integers"):
      parse("--workdir=/tmp/w", "--feature_layers=1,x")

  def testPaperConfigs_AreTheirBaseWithTheirOwnArchAndDataset(self):
    base = flagfile_values("configs/paper_base.cfg")
    self.assertLen(base, 20)
    for name, arch, dataset in (("gfmn", "gfmn", "lsun/bedroom"),
                                ("sngan", "sngan", "celeb_a"),
                                ("bigGAN", "biggan", "celeb_a")):
      config = parse(f"--flagfile=configs/{name}.cfg", "--workdir=/tmp/w")
      self.assertEqual((config["arch"], config["dataset"]), (arch, dataset))
      for flag, value in base.items():
        got = config["ticket"].get(flag, config.get(flag))
        self.assertEqual(str(got), str(type(got)(value)), f"{name}: {flag}")
      # The paper's recipe itself, written out once more here.
      self.assertEqual(config["ticket"]["keep_ratio"], 0.1)
      self.assertEqual((config["learning_rate"], config["batch_size"],
                        config["features"]), (5e-5, 64, "vgg19_bn"))


if __name__ == "__main__":
  tf.test.main()
