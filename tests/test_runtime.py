"""oneDNN is turned on before TensorFlow loads, unless the user decided; the
machine description names what every benchmark figure must name."""

import json
import os

import tensorflow as tf

from slt_tf import runtime
import testutil

_PROBE = ("import json, os, sys\n"
          "{before}\n"
          "import slt_tf\n"
          "import tensorflow\n"
          "from slt_tf import runtime\n"
          "d = runtime.describe()\n"
          "print(json.dumps(dict(d, variable=os.environ.get("
          "'TF_ENABLE_ONEDNN_OPTS'), summary=runtime.summary(), "
          "sklearn='sklearn' in sys.modules)))\n")


def _probe(env_value=None, before=""):
  """A fresh interpreter's view of the oneDNN setting."""
  result = testutil.run_python(
      "-c", _PROBE.format(before=before), timeout=120,
      drop_env=("TF_ENABLE_ONEDNN_OPTS",),
      env={} if env_value is None else {"TF_ENABLE_ONEDNN_OPTS": env_value})
  assert result.returncode == 0, result.stderr[-2000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


class OneDnnTest(tf.test.TestCase):

  def testImportingSltTf_TurnsOneDnnOnBeforeTensorFlowLoads(self):
    probe = _probe()
    self.assertEqual(probe["variable"], "1")
    self.assertEqual(probe["onednn_source"], "slt_tf")
    self.assertTrue(probe["onednn"])
    self.assertIn("oneDNN on (turned on by slt_tf", probe["summary"])
    # Keras imports scikit-learn whenever it is installed (0.8 s of every
    # start-up); nothing slt_tf installs may bring it back.
    self.assertFalse(probe["sklearn"])

  def testUserSetting_IsRespected(self):
    probe = _probe("0")
    self.assertEqual(probe["variable"], "0")
    self.assertEqual(probe["onednn_source"], "user")
    self.assertFalse(probe["onednn"])
    self.assertIn("oneDNN off (as TF_ENABLE_ONEDNN_OPTS says)",
                  probe["summary"])

  def testTensorFlowImportedFirst_SaysItIsTooLate(self):
    probe = _probe(before="import tensorflow")
    self.assertIsNone(probe["variable"])
    self.assertEqual(probe["onednn_source"], "tensorflow imported first")
    self.assertIn("imported before slt_tf", probe["summary"])

  def testThisTestProcess_RunsWithOneDnnAsUsersDo(self):
    self.assertTrue(runtime.onednn_enabled()
                    or os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0")


class MachineTest(tf.test.TestCase):

  def testIsaLevel_WidestExtensionOfTheFlags(self):
    self.assertEqual(runtime.isa_level({"sse4_2", "avx", "avx2", "avx512f"}),
                     "AVX-512")
    self.assertEqual(runtime.isa_level({"sse4_2", "avx", "avx2", "fma"}),
                     "AVX2")
    self.assertEqual(runtime.isa_level({"sse4_2"}), "SSE4.2")

  def testLowPrecision_NamesNativeBf16AndFp16Extensions(self):
    self.assertEqual(runtime.low_precision({"avx512f", "avx512_bf16"}),
                     "AVX512_BF16")
    self.assertEqual(
        runtime.low_precision({"amx_bf16", "avx512_fp16", "avx512_bf16"}),
        "AVX512_BF16,AMX_BF16,AVX512_FP16")
    self.assertEqual(runtime.low_precision({"avx2", "fma"}), "none")

  def testDescribe_NamesCpuIsaCoresTensorFlowAndOneDnn(self):
    d = runtime.describe()
    self.assertEqual(d["tensorflow"], tf.__version__)
    self.assertEqual(d["cores"], len(os.sched_getaffinity(0)))
    self.assertIsInstance(d["onednn"], bool)
    self.assertTrue(d["cpu"])
    with open("/proc/cpuinfo") as f:
      flags = f.read()
    if " avx512f" in flags:
      self.assertEqual(d["isa"], "AVX-512")
    elif " avx2" in flags:
      self.assertEqual(d["isa"], "AVX2")
    self.assertEqual(d["low_precision"] != "none", " avx512_bf16" in flags
                     or " amx_bf16" in flags or " avx512_fp16" in flags)
    # The PyTorch reference names the machine without TensorFlow.
    self.assertEqual(runtime.machine(),
                     {k: d[k] for k in ("cpu", "isa", "cores")})
    # Results rows name it in a few words.
    self.assertEqual(runtime.machine_name(),
                     f"{d['cpu']} ({d['isa']}, {d['cores']} cores)")


if __name__ == "__main__":
  tf.test.main()
