"""The feature extractors' names and their feature layers, importable without
TensorFlow (the configuration validates against them)."""

EXTRACTORS = ("vgg19_bn", "vgg19", "classifier")
# VGG19-BN's batch norms: batch statistics (the authors') or the stored ones.
BN_MODES = ("batch", "inference")
# The weights of benchmarks and tests only.
RANDOM = "random"
# torchvision's cfg "E": channels of the 16 convs, "M" a 2x2 max pool.
VGG19_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
             512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
# The classifier feature net's convs ("M" a 2x2 max pool).
CLASSIFIER_WIDTHS = (32, "M", 64, "M", 128, "M")


def num_layers(name: str) -> int:
  """How many feature layers an extractor concatenates (``select_layers``)."""
  widths = CLASSIFIER_WIDTHS if name == "classifier" else VGG19_CFG
  return sum(1 for w in widths if w != "M")  # VGG19: its 16 ReLUs.
