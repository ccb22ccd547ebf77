"""Linear models and scores of the sanity report, in numpy: ROC AUC, ridge probes, effective rank.

``roc_auc(scores, positive)`` (Mann-Whitney U, ties averaged; NaN without both classes);
:class:`Ridge` (standardised, with intercept); ``fit_probe`` (one-vs-rest ridge classifier) and
``fit_score`` (ridge score of a binary target), each picking its penalty on a 25 % inner split;
``split`` (a seeded random split); ``effective_rank`` (Roy & Vetterli 2007).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

PENALTIES = (1e-3, 1e-2, 1e-1, 1.0)


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties averaged); NaN without both classes."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class Ridge:
    """Standardised ridge regression with an intercept; ``Y`` may have several columns."""

    def __init__(self, lam: float):
        self.lam = lam

    def fit(self, x, y):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        self.mu = x.mean(0)
        self.sd = x.std(0) + 1e-6
        z = (x - self.mu) / self.sd
        self.ymu = y.mean(0)
        gram = z.T @ z + self.lam * len(z) * np.eye(z.shape[1])
        self.w = np.linalg.solve(gram, z.T @ (y - self.ymu))
        return self

    def predict(self, x):
        return ((np.asarray(x, dtype=np.float64) - self.mu) / self.sd) @ self.w + self.ymu


def split(n: int, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split of ``range(n)``: the first ``frac`` and the rest."""
    perm = np.random.default_rng(seed).permutation(n)
    cut = int(round(n * frac))
    return perm[:cut], perm[cut:]


def fit_probe(x, y, n_classes, seed=0) -> Ridge:
    """One-vs-rest ridge classifier; the penalty is picked on a 25 % inner split."""
    onehot = np.eye(n_classes)[y]
    tr, va = split(len(x), 0.75, seed + 1)
    best = None
    for lam in PENALTIES:
        acc = float(np.mean(Ridge(lam).fit(x[tr], onehot[tr]).predict(x[va]).argmax(1) == y[va])) if len(va) else 0.0
        if best is None or acc > best[0]:
            best = (acc, lam)
    return Ridge(best[1]).fit(x, onehot)


def fit_score(x, target, seed=0) -> Ridge:
    """Ridge regression score for a binary target; penalty picked by AUC on a 25 % inner split."""
    tr, va = split(len(x), 0.75, seed + 2)
    best = None
    for lam in PENALTIES:
        auc = roc_auc(Ridge(lam).fit(x[tr], target[tr]).predict(x[va]), target[va] > 0.5)
        auc = -1.0 if np.isnan(auc) else auc
        if best is None or auc > best[0]:
            best = (auc, lam)
    return Ridge(best[1]).fit(x, target)


def effective_rank(x: np.ndarray) -> float:
    """``exp`` of the entropy of the normalised singular values of ``x`` centred per column
    (Roy & Vetterli 2007): 1 for rank-1 data, the dimension for isotropic data."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return float("nan")
    sv = np.linalg.svd(x - x.mean(0), compute_uv=False)
    if sv.sum() <= 0:
        return float("nan")
    p = sv / sv.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))
