"""Sample-quality metrics on activations: FID, KID, PRDC, Inception score.

Functions take two activation matrices (N, D) (real first) and compute in float64
NumPy with chunking, so 10k x 10k comparisons fit in memory. The definitions are
those of tensorflow-gan (FID, KID, classifier score), which the test suite uses
as its oracle, and of Naeem et al. 2020 (precision, recall, density, coverage).
"""

from typing import Dict, Tuple

import numpy as np

_CHUNK = 1024


def _as_matrix(x, name: str) -> np.ndarray:
  x = np.asarray(x, np.float64)
  if x.ndim != 2:
    raise ValueError(f"{name} must be (N, D) activations, got shape {x.shape}")
  if x.shape[0] < 2:
    raise ValueError(f"{name} needs at least 2 rows, got {x.shape[0]}")
  return x


def _check_pair(a, b) -> Tuple[np.ndarray, np.ndarray]:
  a, b = _as_matrix(a, "real activations"), _as_matrix(b, "fake activations")
  if a.shape[1] != b.shape[1]:
    raise ValueError(f"activation widths differ: {a.shape[1]} vs {b.shape[1]}")
  return a, b


def mean_and_covariance(x) -> Tuple[np.ndarray, np.ndarray]:
  """Mean and unbiased covariance of activations (N, D)."""
  x = _as_matrix(x, "activations")
  mean = x.mean(axis=0)
  centered = x - mean
  return mean, centered.T @ centered / (x.shape[0] - 1)


def frechet_distance_from_moments(mu1, sigma1, mu2, sigma2) -> float:
  """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)."""
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  sigma1 = np.asarray(sigma1, np.float64)
  sigma2 = np.asarray(sigma2, np.float64)
  # tr sqrt(S1 S2) through the symmetric S1^1/2 S2 S1^1/2, whose eigenvalues
  # are real and non-negative (up to rounding, hence the clip).
  w, v = np.linalg.eigh(sigma1)
  root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
  inner = root1 @ sigma2 @ root1
  trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2),
                               0, None)).sum()
  return float(np.square(mu1 - mu2).sum() + np.trace(sigma1) +
               np.trace(sigma2) - 2 * trace_sqrt)


def frechet_distance(real, fake) -> float:
  """FID between two activation sets (tensorflow-gan's definition)."""
  real, fake = _check_pair(real, fake)
  return frechet_distance_from_moments(*mean_and_covariance(real),
                                       *mean_and_covariance(fake))


def kernel_distance(real, fake, max_block_size: int = 1024
                    ) -> Tuple[float, float]:
  """KID: unbiased MMD^2 with kernel (x.y / d + 1)^3, and its standard error.

  Like tensorflow-gan, both sets are split into the same number of nearly
  equal blocks of at most ``max_block_size`` rows; the estimate is the mean of
  the per-block estimates and the error their standard error (NaN with one
  block).
  """
  real, fake = _check_pair(real, fake)
  n_r, n_g = real.shape[0], fake.shape[0]
  blocks = int(np.ceil(max(n_r, n_g) / max_block_size))

  def bounds(n):
    base, extra = divmod(n, blocks)
    sizes = [base] * (blocks - extra) + [base + 1] * extra
    return np.concatenate([[0], np.cumsum(sizes)])

  dim = real.shape[1]
  kernel = lambda x, y: (x @ y.T / dim + 1) ** 3
  ir, ig = bounds(n_r), bounds(n_g)
  estimates = []
  for i in range(blocks):
    r, g = real[ir[i]:ir[i + 1]], fake[ig[i]:ig[i + 1]]
    m, n = len(r), len(g)
    k_rr, k_gg = kernel(r, r), kernel(g, g)
    estimates.append(
        -2 * kernel(r, g).mean() +
        (k_rr.sum() - np.trace(k_rr)) / (m * (m - 1)) +
        (k_gg.sum() - np.trace(k_gg)) / (n * (n - 1)))
  estimates = np.array(estimates)
  mean = float(estimates.mean())
  if blocks == 1:
    return mean, float("nan")
  return mean, float(np.sqrt(estimates.var(ddof=1) / blocks))


def _squared_distances(x, y):
  return np.maximum((x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] -
                    2 * x @ y.T, 0)


def nearest_neighbour_radii(x, k: int) -> np.ndarray:
  """Distance from each row of ``x`` to its k-th nearest other row."""
  x = _as_matrix(x, "activations")
  if not 1 <= k < x.shape[0]:
    raise ValueError(f"nearest_k must be in [1, {x.shape[0] - 1}], got {k}")
  radii = np.empty(x.shape[0])
  for s in range(0, x.shape[0], _CHUNK):
    d = _squared_distances(x[s:s + _CHUNK], x)
    # Index k of the partition: the row itself is at distance 0 (index 0).
    radii[s:s + _CHUNK] = np.sqrt(np.partition(d, k, axis=1)[:, k])
  return radii


def prdc(real, fake, nearest_k: int = 5) -> Dict[str, float]:
  """Precision, recall, density and coverage (Naeem et al. 2020).

  With r_i the distance of real i to its k-th nearest real neighbour and f_j
  likewise for fakes: precision = share of fakes inside some real ball;
  recall = share of reals inside some fake ball; density = mean over fakes of
  (number of real balls containing it) / k; coverage = share of real balls
  containing at least one fake.
  """
  real, fake = _check_pair(real, fake)
  real_radii = nearest_neighbour_radii(real, nearest_k)
  fake_radii = nearest_neighbour_radii(fake, nearest_k)
  in_real_balls = np.zeros(fake.shape[0], np.int64)
  recalled = covered = 0
  for s in range(0, real.shape[0], _CHUNK):
    d = np.sqrt(_squared_distances(real[s:s + _CHUNK], fake))
    inside = d < real_radii[s:s + _CHUNK, None]
    in_real_balls += inside.sum(axis=0)
    recalled += int((d < fake_radii[None, :]).any(axis=1).sum())
    covered += int(inside.any(axis=1).sum())
  return {"precision": float((in_real_balls > 0).mean()),
          "recall": recalled / real.shape[0],
          "density": float(in_real_balls.mean() / nearest_k),
          "coverage": covered / real.shape[0]}


def inception_score(logits) -> float:
  """exp(E_x KL(p(y|x) || p(y))) from classifier logits (tensorflow-gan's
  ``classifier_score_from_logits``, one split)."""
  logits = _as_matrix(logits, "logits")
  logits = logits - logits.max(axis=1, keepdims=True)
  log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
  p = np.exp(log_p)
  log_marginal = np.log(p.mean(axis=0))
  return float(np.exp((p * (log_p - log_marginal)).sum(axis=1).mean()))
