"""Dense peaks of GPUs, for ``gpu_check.py``'s fraction of peak."""

# Dense tensor-core peaks (TFLOP/s) from the vendors' data sheets; float32
# runs as TF32 on these devices (TensorFlow's default). Matched on the device
# name in order, so the PCIe card comes before the SXM one.
PEAK_TFLOPS = (
    ("H100 PCIe", {"float32": 378.0, "bfloat16": 756.0}),
    ("H100", {"float32": 494.7, "bfloat16": 989.4}),
    ("H200", {"float32": 494.7, "bfloat16": 989.4}),
    ("A100", {"float32": 156.0, "bfloat16": 312.0}),
    ("L4", {"float32": 60.0, "bfloat16": 121.0}),
)


def peak_tflops(device_name: str, precision: str):
  """The device's dense peak for ``precision``, or None when unknown."""
  for key, peaks in PEAK_TFLOPS:
    if key in device_name:
      return peaks.get(precision)
  return None
