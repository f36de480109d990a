r"""The authors' search step in PyTorch, for timing against ours on one machine.

  /path/to/python-with-torch bench/torch_reference_step.py --resolution=32 \
      --batch_size=64 --steps=5

PyTorch is not a dependency of slt_tf; run this with any Python that has torch.
It rebuilds what one iteration of the authors' code does, the way their code
does it, with the same network as ``step_time.py --arch=sngan``:

* every conv and linear layer is an edge-popup ``Subnet`` layer whose forward
  pass calls ``GetSubnet``: a full ``sort`` of the |scores| of the tensor, then
  a 0/1 mask (edge-popup's reference implementation, which the authors reuse);
  biases get their own scores, as ours do;
* the SNGAN generator (dense z -> 4x4x256, residual up-blocks of width 256,
  batch norm without affine parameters, to-RGB conv, tanh);
* VGG19-BN features (the 16 ReLU outputs, flattened and concatenated) of the
  ImageNet-normalised images, batch norm on batch statistics, random weights;
* moment matching with the Adam moving average: two vectors updated by
  ``torch.optim.Adam`` (lr 1e-5, betas 0.5/0.999) on MSE to the detached
  moment differences, then the loss ``v_mu.(mu_r-mu_f) + v_var.(var_r-var_f)``;
* Adam (lr 5e-5, betas 0.5/0.999) on the scores.

Random real statistics stand in for the dataset's, as in ``step_time.py``.
Prints one JSON line with the median step time (warm-up excluded).
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

VGG19_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512,
             512, 512, "M", 512, 512, 512, 512)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class GetSubnet(torch.autograd.Function):
  """Edge-popup's mask: sort all scores, zero the lowest (1 - k) fraction."""

  @staticmethod
  def forward(ctx, scores, k):
    out = scores.clone()
    _, idx = scores.flatten().sort()
    j = int((1 - k) * scores.numel())
    flat_out = out.flatten()
    flat_out[idx[:j]] = 0
    flat_out[idx[j:]] = 1
    return out

  @staticmethod
  def backward(ctx, g):
    return g, None


class SubnetMixin:
  """Frozen weight and bias, trainable scores for both."""

  def init_subnet(self, keep_ratio):
    self.keep_ratio = keep_ratio
    self.scores = nn.Parameter(torch.empty_like(self.weight).uniform_(-.1, .1))
    self.bias_scores = nn.Parameter(
        torch.empty_like(self.bias).uniform_(-.1, .1))
    self.weight.requires_grad = False
    self.bias.requires_grad = False

  def masked(self):
    w = self.weight * GetSubnet.apply(self.scores.abs(), self.keep_ratio)
    b = self.bias * GetSubnet.apply(self.bias_scores.abs(), self.keep_ratio)
    return w, b


class SubnetConv(nn.Conv2d, SubnetMixin):

  def __init__(self, cin, cout, kernel, keep_ratio):
    super().__init__(cin, cout, kernel, padding=kernel // 2)
    self.init_subnet(keep_ratio)

  def forward(self, x):
    w, b = self.masked()
    return F.conv2d(x, w, b, padding=self.padding)


class SubnetLinear(nn.Linear, SubnetMixin):

  def __init__(self, cin, cout, keep_ratio):
    super().__init__(cin, cout)
    self.init_subnet(keep_ratio)

  def forward(self, x):
    w, b = self.masked()
    return F.linear(x, w, b)


class UpBlock(nn.Module):

  def __init__(self, ch, keep_ratio):
    super().__init__()
    self.bn1 = nn.BatchNorm2d(ch, affine=False)
    self.conv1 = SubnetConv(ch, ch, 3, keep_ratio)
    self.bn2 = nn.BatchNorm2d(ch, affine=False)
    self.conv2 = SubnetConv(ch, ch, 3, keep_ratio)
    self.skip = SubnetConv(ch, ch, 1, keep_ratio)

  def forward(self, x):
    h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2)
    h = self.conv2(F.relu(self.bn2(self.conv1(h))))
    return h + self.skip(F.interpolate(x, scale_factor=2))


class SnganGenerator(nn.Module):

  def __init__(self, resolution, ch, nz, keep_ratio):
    super().__init__()
    self.ch = ch
    self.stem = SubnetLinear(nz, 4 * 4 * ch, keep_ratio)
    blocks = resolution.bit_length() - 3  # log2(resolution) - 2
    self.blocks = nn.Sequential(*[UpBlock(ch, keep_ratio)
                                  for _ in range(blocks)])
    self.bn = nn.BatchNorm2d(ch, affine=False)
    self.to_rgb = SubnetConv(ch, 3, 3, keep_ratio)

  def forward(self, z):
    x = self.stem(z).view(-1, self.ch, 4, 4)
    return torch.tanh(self.to_rgb(F.relu(self.bn(self.blocks(x)))))


def vgg19_bn_features():
  layers, cin = [], 3
  for c in VGG19_CFG:
    if c == "M":
      layers.append(nn.MaxPool2d(2))
    else:
      layers += [nn.Conv2d(cin, c, 3, padding=1),
                 nn.BatchNorm2d(c, track_running_stats=False), nn.ReLU()]
      cin = c
  net = nn.Sequential(*layers)
  for p in net.parameters():
    p.requires_grad = False
  return net


def extract(net, images):
  mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
  std = torch.tensor(IMAGENET_STD)[:, None, None]
  x = ((images + 1) / 2 - mean) / std
  taps = []
  for layer in net:
    x = layer(x)
    if isinstance(layer, nn.ReLU):
      taps.append(x.flatten(1))
  return torch.cat(taps, 1)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--resolution", type=int, default=32)
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--ch", type=int, default=256)
  parser.add_argument("--nz", type=int, default=128)
  parser.add_argument("--keep_ratio", type=float, default=0.1)
  parser.add_argument("--steps", type=int, default=5)
  parser.add_argument("--warmup", type=int, default=2)
  parser.add_argument("--threads", type=int, default=os.cpu_count())
  args = parser.parse_args()
  torch.manual_seed(0)
  torch.set_num_threads(args.threads)

  generator = SnganGenerator(args.resolution, args.ch, args.nz,
                             args.keep_ratio)
  features = vgg19_bn_features()
  with torch.no_grad():
    dim = extract(features, torch.zeros(2, 3, args.resolution,
                                        args.resolution)).shape[1]
  real_mean = torch.randn(dim)
  real_var = torch.rand(dim) * 1.5 + 0.5
  v_mean = nn.Parameter(torch.zeros(dim))
  v_var = nn.Parameter(torch.zeros(dim))
  ama = torch.optim.Adam([v_mean, v_var], lr=1e-5, betas=(0.5, 0.999))
  scores = [p for p in generator.parameters() if p.requires_grad]
  optimizer = torch.optim.Adam(scores, lr=5e-5, betas=(0.5, 0.999))

  def step():
    z = torch.randn(args.batch_size, args.nz)
    fake = extract(features, generator(z))
    mu, var = fake.mean(0), fake.var(0)
    diff_mean, diff_var = real_mean - mu, real_var - var
    ama.zero_grad()
    ama_loss = (F.mse_loss(v_mean, diff_mean.detach())
                + F.mse_loss(v_var, diff_var.detach()))
    ama_loss.backward()
    ama.step()
    loss = (v_mean.detach() * diff_mean).sum() + (
        v_var.detach() * diff_var).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.detach())

  for _ in range(args.warmup):
    step()
  times = []
  for _ in range(args.steps):
    start = time.perf_counter()
    step()
    times.append(time.perf_counter() - start)
  seconds = statistics.median(times)
  print(json.dumps({
      "implementation": "pytorch (the authors' step: sort-based GetSubnet)",
      "arch": "sngan", "resolution": args.resolution,
      "batch_size": args.batch_size, "keep_ratio": args.keep_ratio,
      "median_step_s": round(seconds, 4),
      "steps_per_s": round(1 / seconds, 3),
      "params_generator": sum(p.numel() for n, p in
                              generator.named_parameters()
                              if not n.endswith("scores")),
      "feature_dim": dim, "threads": torch.get_num_threads(),
      "torch": torch.__version__, **_machine()}))


def _machine() -> dict:
  """CPU model, ISA level and cores, named as slt_tf's benchmarks name them
  (``slt_tf.runtime.machine``, which imports no TensorFlow)."""
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))
  from slt_tf import runtime  # pylint: disable=g-import-not-at-top
  return runtime.machine()


if __name__ == "__main__":
  main()
