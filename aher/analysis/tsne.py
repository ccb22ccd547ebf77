"""Exact t-SNE (van der Maaten & Hinton, 2008) and PCA, in vectorised numpy.

Contract
--------
``tsne(x, dims=2, perplexity=30, ...)`` embeds the rows of ``x`` [n, d] in ``dims`` dimensions:

1. **Affinities.**  Squared Euclidean distances ``D``; for every point a Gaussian precision
   ``beta_i`` is found by bisection (on ``log beta``, all rows at once) so that the entropy of
   ``p_{j|i} = exp(-beta_i D_ij) / sum_k exp(-beta_i D_ik)`` equals ``log(perplexity)`` (natural
   log) within ``tol``; then ``P = (P_cond + P_cond^T) / (2n)``, floored at 1e-12.
2. **Embedding.**  Student-t kernel ``q_ij ∝ (1 + |y_i - y_j|^2)^-1``; gradient
   ``4 sum_j (p_ij - q_ij)(1 + |y_i - y_j|^2)^-1 (y_i - y_j)``; gradient descent with momentum
   (0.5 for the first ``exaggeration_iters`` iterations, then 0.8), per-coordinate adaptive gains
   (+0.2 / x0.8, floor 0.01, as in the reference implementation) and early exaggeration (P x
   ``exaggeration`` for the first ``exaggeration_iters`` iterations).  The learning rate defaults
   to ``max(n / exaggeration / 4, 50)`` (the "auto" rule of Belkina et al., 2019).
3. **Initialisation.**  ``init="pca"`` (default): the first ``dims`` principal components scaled to
   a standard deviation of 1e-4 along the first one (deterministic up to sign, which is fixed);
   ``init="random"``: N(0, 1e-4^2) from ``seed``.

``pca(x, k)`` centres ``x`` and projects it on its top ``min(k, d, n)`` principal axes (SVD),
returning the projection and the explained-variance ratios.

Limits: exact O(n^2) memory and time per iteration (no Barnes-Hut): meant for a few thousand
points (1,500 points, 1,000 iterations: ~15 s of CPU time).  Float64 for the affinities,
float32 for the optimisation (the result does not depend on that at plotting precision).
Identical rows are fine (their affinity is simply high).  No out-of-sample extension.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TSNEResult", "tsne", "pca", "squared_distances", "conditional_affinities", "joint_affinities"]


@dataclass
class TSNEResult:
    """Output of :func:`tsne`: the embedding [n, dims], the final KL(P||Q) and the precisions."""

    embedding: np.ndarray
    kl_divergence: float
    betas: np.ndarray
    iterations: int


def squared_distances(x):
    """Pairwise squared Euclidean distances of the rows of ``x`` [n, d] -> [n, n] float64 (>= 0, zero diagonal)."""
    x = np.asarray(x, dtype=np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    d = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    np.maximum(d, 0.0, out=d)
    np.fill_diagonal(d, 0.0)
    return d


def _row_entropy(d, beta):
    """Entropy (nats) and probabilities of exp(-beta_i d_ij), row-normalised, diagonal excluded.

    ``d`` must have +inf on the diagonal.  The exponent is shifted by each row's minimum, which
    leaves the normalised probabilities unchanged and avoids underflow of every entry.
    """
    shifted = d - d.min(axis=1, keepdims=True)
    p = np.exp(-beta[:, None] * shifted)
    total = p.sum(axis=1, keepdims=True)
    p /= total
    # H = -sum p log p = beta * E[shifted] + log(total)
    h = beta * np.einsum("ij,ij->i", p, np.where(np.isfinite(shifted), shifted, 0.0)) + np.log(total[:, 0])
    return h, p


def conditional_affinities(distances, perplexity=30.0, tol=1e-5, max_iter=200):
    """Rows ``p_{j|i}`` with entropy ``log(perplexity)``, found by bisection on ``log beta``.

    Args:
      distances: [n, n] squared distances.
      perplexity: target perplexity, ``1 < perplexity < n``.
      tol: absolute tolerance on the entropy (nats).
      max_iter: bisection steps (each halves the bracket of every row at once).
    Returns:
      (P_cond [n, n] float64 with zero diagonal, beta [n]).
    """
    d = np.array(distances, dtype=np.float64)
    n = d.shape[0]
    if d.ndim != 2 or d.shape[1] != n:
        raise ValueError(f"distances must be square, got shape {d.shape}")
    if not 1.0 < perplexity < n:
        raise ValueError(f"perplexity must be in (1, n={n}), got {perplexity}")
    np.fill_diagonal(d, np.inf)
    target = np.log(perplexity)
    # Entropy decreases monotonically with beta; bracket log(beta) generously, scaled to the data.
    finite = d[np.isfinite(d)]
    scale = np.median(finite[finite > 0]) if np.any(finite > 0) else 1.0
    lo = np.full(n, np.log(1e-20 / scale))
    hi = np.full(n, np.log(1e20 / scale))
    log_beta = np.full(n, np.log(1.0 / scale))
    for _ in range(max_iter):
        h, p = _row_entropy(d, np.exp(log_beta))
        err = h - target
        if np.all(np.abs(err) < tol):
            break
        too_flat = err > 0                      # entropy too high -> increase beta
        lo = np.where(too_flat, log_beta, lo)
        hi = np.where(too_flat, hi, log_beta)
        log_beta = (lo + hi) / 2.0
    beta = np.exp(log_beta)
    _, p = _row_entropy(d, beta)
    np.fill_diagonal(p, 0.0)
    return p, beta


def joint_affinities(x, perplexity=30.0, tol=1e-5):
    """Symmetric t-SNE affinities ``P`` [n, n] (sum 1) of the rows of ``x``, and the precisions."""
    p_cond, beta = conditional_affinities(squared_distances(x), perplexity, tol)
    p = (p_cond + p_cond.T) / (2.0 * p_cond.shape[0])
    np.maximum(p, 1e-12, out=p)
    np.fill_diagonal(p, 0.0)
    return p, beta


def pca(x, k):
    """Centre ``x`` [n, d] and project it on its top ``min(k, d, n)`` principal axes.

    Returns (projection [n, k'] float64, explained-variance ratio [k']).  The sign of each axis is
    fixed so that its largest-magnitude loading is positive (deterministic output).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"pca needs [n >= 2, d] data, got shape {x.shape}")
    centred = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    keep = max(1, min(int(k), vt.shape[0]))
    vt = vt[:keep]
    signs = np.sign(vt[np.arange(keep), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1.0
    vt = vt * signs[:, None]
    var = s ** 2
    ratio = var[:keep] / var.sum() if var.sum() > 0 else np.zeros(keep)
    return centred @ vt.T, ratio


def _kl(p, y):
    sq = np.einsum("ij,ij->i", y, y)
    num = 1.0 / (1.0 + np.maximum(sq[:, None] + sq[None, :] - 2.0 * (y @ y.T), 0.0))
    np.fill_diagonal(num, 0.0)
    q = np.maximum(num / num.sum(), 1e-12)
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def tsne(x, dims=2, perplexity=30.0, n_iter=1000, learning_rate=None, exaggeration=12.0,
         exaggeration_iters=250, init="pca", seed=0, min_gain=0.01, tol=1e-5):
    """Exact t-SNE of the rows of ``x`` [n, d] (see the module docstring).

    Args:
      x: data, [n, d], n >= 4.
      dims: embedding dimension.
      perplexity: effective number of neighbours; lowered to ``(n - 1) / 3`` when n is small.
      n_iter: gradient-descent iterations (including the exaggeration phase).
      learning_rate: step size; default ``max(n / exaggeration / 4, 50)``.
      exaggeration, exaggeration_iters: early exaggeration factor and length.
      init: ``"pca"`` or ``"random"``.
      seed: random initialisation seed (``init="random"``).
    Returns:
      :class:`TSNEResult`.
    """
    x = _checked_data(x)
    n = x.shape[0]
    p, beta = joint_affinities(x, float(min(perplexity, (n - 1) / 3.0)), tol)
    p = p.astype(np.float32)
    if learning_rate is None:
        learning_rate = max(n / exaggeration / 4.0, 50.0)
    schedule = _Schedule(int(n_iter), learning_rate, exaggeration, exaggeration_iters, min_gain)
    y = _descend(_initial_embedding(x, dims, init, seed), p, schedule)
    return TSNEResult(embedding=y.astype(np.float64), kl_divergence=_kl(p.astype(np.float64), y.astype(np.float64)),
                      betas=beta, iterations=int(n_iter))


def _checked_data(x):
    """``x`` as float64 [n >= 4, d], finite; ValueError otherwise."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 4:
        raise ValueError(f"tsne needs [n >= 4, d] data, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("tsne: the data contain NaN or inf")
    return x


def _initial_embedding(x, dims, init, seed):
    """The starting points [n, dims] float32: scaled principal components or N(0, 1e-4^2)."""
    n = x.shape[0]
    if init == "pca":
        y = pca(x, dims)[0]
        if y.shape[1] < dims:
            y = np.hstack([y, np.zeros((n, dims - y.shape[1]))])
        std = y[:, 0].std()
        y = y / (std if std > 0 else 1.0) * 1e-4
    elif init == "random":
        y = np.random.default_rng(seed).normal(0.0, 1e-4, size=(n, dims))
    else:
        raise ValueError(f"init must be 'pca' or 'random', got {init!r}")
    return y.astype(np.float32)


@dataclass
class _Schedule:
    """The optimisation settings of :func:`tsne`."""

    n_iter: int
    learning_rate: float
    exaggeration: float
    exaggeration_iters: int
    min_gain: float


def _descend(y, p, schedule):
    """Gradient descent with momentum, adaptive gains and early exaggeration -> y [n, dims] float32."""
    n = y.shape[0]
    update = np.zeros_like(y)
    gains = np.ones_like(y)
    p_exaggerated = p * np.float32(schedule.exaggeration)
    buffers = (np.empty((n, n), np.float32), np.empty((n, n), np.float32), np.empty_like(y))
    for it in range(schedule.n_iter):
        exaggerate = it < schedule.exaggeration_iters
        momentum = 0.5 if exaggerate else 0.8
        grad = _gradient(y, p_exaggerated if exaggerate else p, *buffers)
        same_sign = (grad > 0) == (update > 0)
        gains = np.where(same_sign, gains * 0.8, gains + 0.2)
        np.maximum(gains, schedule.min_gain, out=gains)
        update = momentum * update - schedule.learning_rate * gains * grad
        y = y + update
        y -= y.mean(axis=0)
    return y


def _gradient(y, p, num, w, grad):
    """The KL gradient at ``y`` for affinities ``p``, written into the buffer ``grad`` (also returned).

    ``num`` and ``w`` are [n, n] float32 work buffers.
    """
    dims = y.shape[1]
    # num_ij = 1 / (1 + |y_i - y_j|^2), zero diagonal (an outer difference per coordinate:
    # a K = 2 matrix product is much slower than these element-wise passes)
    cols = np.ascontiguousarray(y.T)
    np.subtract.outer(cols[0], cols[0], out=num)
    num *= num
    for k in range(1, dims):
        np.subtract.outer(cols[k], cols[k], out=w)
        w *= w
        num += w
    num += 1.0
    np.reciprocal(num, out=num)
    np.fill_diagonal(num, 0.0)
    z = float(num.sum())
    # w_ij = (c p_ij - q_ij) num_ij with q_ij = num_ij / z
    np.multiply(num, np.float32(1.0 / z), out=w)
    np.subtract(p, w, out=w)
    w *= num
    row = w.sum(axis=1)
    for k in range(dims):                       # sum_j w_ij (y_i - y_j), one coordinate at a time
        grad[:, k] = 4.0 * (row * cols[k] - np.einsum("ij,j->i", w, cols[k]))
    return grad
