"""The generative model's fixed random quantities: taxonomy, classes, scenes, domains, extractor.

Semantic vectors live in a ``latent_dim``-dimensional space with scale 1 per latent dimension
(:func:`unit`); the fixed extractor maps a latent state to the D feature dimensions, so the
difficulty does not grow with D (real features are also of low effective rank).

* Taxonomy: groups with a group vector ``G_g`` and a context vector ``C_g`` (correlated with
  ``G_g``: ``context_group_corr``); class prototype ``P_c = unit(sqrt(w) G_g + sqrt(1-w) h_c)``
  (``w = group_weight``), so classes of one group are confusable.  The untrimmed and moment
  sets have different classes; their groups are shared (``k600``), disjoint (``anet_split``)
  or the untrimmed groups a subset of the moment groups (``th14_anet``).
* Phase signatures: onset ``O_c = unit(sqrt(1-b^2) O + b o_c)`` with ``O`` shared by all
  classes and datasets and ``b = phase_class_mix`` small (likewise the offset ``F_c``); ``A`` is
  the class-agnostic "something is happening" vector (what lets actionness transfer).
* Scenes: per domain (anet / k600 / thumos) a pool of ``n_scenes`` scene vectors; per domain a
  fixed shift ``z -> z + s z R_d + o b_d`` (``domain_shift``, ``domain_offset``).
* Clutter pool: the prototypes of both sets plus distractors of random groups (the hard
  negatives of the background).
* Extractor: ``relu(norm(relu(z W1) W2) + output_bias + white_std * eps)`` with fixed random
  ``W1`` [latent, ``hidden_dim``], ``W2`` [``hidden_dim``, D], ``norm`` a per-frame
  standardisation across the D units and ``eps`` white sensor noise (:meth:`World.activations`).
  Its weights have their own seeded stream: one network for every setting of a seed, as one
  real network extracts every benchmark's features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from aher.data.synthetic.settings import DOMAINS, SETTINGS
from aher.data.synthetic.streams import extractor_rng, world_rng
from aher.errors import UserError


def unit(v: np.ndarray) -> np.ndarray:
    """Rows scaled to norm sqrt(D) (per-dimension scale 1)."""
    v = np.asarray(v, dtype=np.float64)
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(norm, 1e-12) * math.sqrt(v.shape[-1])


@dataclass
class ClassSet:
    names: list[str]
    groups: np.ndarray           # group index per class
    protos: np.ndarray           # [K, latent]
    onsets: np.ndarray           # [K, latent]
    offsets: np.ndarray          # [K, latent]


def _group_split(setting: str, n_groups: int, untrimmed_frac: float) -> tuple[list[int], list[int]]:
    """The groups of the untrimmed set and of the moment set."""
    all_groups = list(range(n_groups))
    n_u = min(max(1, round(n_groups * untrimmed_frac)), n_groups)
    kind = SETTINGS[setting].groups
    if kind == "shared":
        return all_groups, all_groups
    if kind == "disjoint":
        if n_groups < 2:
            raise UserError(f"--set n_groups: setting {setting} needs at least 2 groups (disjoint)")
        n_u = min(n_u, n_groups - 1)
        return all_groups[:n_u], all_groups[n_u:]
    return all_groups[:n_u], all_groups


class World:
    """Every fixed random quantity of one (setting, config, seed): taxonomy, prototypes,
    signatures, scene pools, domain maps, clutter pool (all in the latent space), and the
    fixed ReLU network latent -> features (the "extractor", :meth:`activations`).

    The draws from the setting's stream happen in a fixed order (signatures, groups, the
    untrimmed then the moment class set, scenes, domain maps, clutter): it is part of the bytes."""

    def __init__(self, setting: str, cfg: dict, seed: int):
        spec = SETTINGS[setting]
        rng = world_rng(seed, setting)
        self.dim = int(cfg["dim"])
        self.latent = min(int(cfg["latent_dim"]), self.dim)
        self._init_extractor(cfg, seed)
        self._init_signatures(rng, cfg)
        n_groups = int(cfg["n_groups"])
        g_u, g_m = _group_split(setting, n_groups, cfg["untrimmed_group_frac"])
        self.group_names = [f"group{g:02d}" for g in range(n_groups)]
        self.sets = {"untrimmed": self._class_set(rng, cfg, spec.prefixes[0], int(cfg["n_classes_untrimmed"]), g_u),
                     "moment": self._class_set(rng, cfg, spec.prefixes[1], int(cfg["n_classes_moment"]), g_m)}
        self._init_scenes_and_domains(rng, cfg)
        self._init_clutter(rng, cfg)

    def _init_extractor(self, cfg: dict, seed: int):
        """With a latent of norm sqrt(latent) every hidden pre-activation has variance ~1."""
        ext = extractor_rng(seed)
        hidden = int(cfg["hidden_dim"])
        self.w1 = ext.standard_normal((self.latent, hidden)) / math.sqrt(self.latent)     # [latent, H]
        self.w2 = ext.standard_normal((hidden, self.dim)) / math.sqrt(0.5 * hidden)       # [H, D]
        self.b2 = float(cfg["output_bias"])

    def _init_signatures(self, rng, cfg: dict):
        dim = self.latent
        self.action = unit(rng.standard_normal(dim))
        self.onset = unit(rng.standard_normal(dim))
        self.offset = unit(rng.standard_normal(dim))
        n_groups = int(cfg["n_groups"])
        self.group_vec = unit(rng.standard_normal((n_groups, dim)))
        rho = float(cfg["context_group_corr"])
        self.context_vec = unit(math.sqrt(rho) * self.group_vec
                                + math.sqrt(1 - rho) * unit(rng.standard_normal((n_groups, dim))))

    def _class_set(self, rng, cfg: dict, prefix: str, n_classes: int, groups: list[int]) -> ClassSet:
        dim, gw, beta = self.latent, float(cfg["group_weight"]), float(cfg["phase_class_mix"])
        groups = np.array([groups[j % len(groups)] for j in range(n_classes)], dtype=np.int64)
        h = rng.standard_normal((n_classes, dim))
        protos = unit(math.sqrt(gw) * self.group_vec[groups] + math.sqrt(1 - gw) * unit(h))
        on = unit(math.sqrt(1 - beta ** 2) * self.onset + beta * unit(rng.standard_normal((n_classes, dim))))
        off = unit(math.sqrt(1 - beta ** 2) * self.offset + beta * unit(rng.standard_normal((n_classes, dim))))
        names = [f"{prefix}_{j:03d}" for j in range(n_classes)]
        return ClassSet(names, groups, protos, on, off)

    def _init_scenes_and_domains(self, rng, cfg: dict):
        dim = self.latent
        self.scenes = {d: unit(rng.standard_normal((int(cfg["n_scenes"]), dim))) for d in DOMAINS}
        self.domain_map = {d: rng.standard_normal((dim, dim)) / math.sqrt(dim) for d in DOMAINS}
        self.domain_bias = {d: unit(rng.standard_normal(dim)) for d in DOMAINS}

    def _init_clutter(self, rng, cfg: dict):
        n_groups, gw = int(cfg["n_groups"]), float(cfg["group_weight"])
        n_distractors = max(4, n_groups)
        dg = rng.integers(n_groups, size=n_distractors)
        distractors = unit(math.sqrt(gw) * self.group_vec[dg]
                           + math.sqrt(1 - gw) * unit(rng.standard_normal((n_distractors, self.latent))))
        self.clutter_pool = np.concatenate([self.sets["untrimmed"].protos, self.sets["moment"].protos, distractors])

    def activations(self, z: np.ndarray, rng=None, white_std: float = 0.0) -> np.ndarray:
        """The fixed extractor on latent states ``z`` ``[N, latent]`` (norm ``sqrt(latent)``):
        ``relu(norm(relu(z W1) W2) + b2 + white_std * eps)`` ``[N, D]`` -- non-negative and
        sparse.  ``norm`` standardises each row across the D units (a normalisation layer: the
        response energy does not depend on what is seen; per-unit offsets, from the positive mean
        of the hidden layer, survive it, so some units are mostly on and others mostly off);
        ``eps`` is per-unit sensor noise drawn from ``rng``."""
        y = np.maximum(z @ self.w1, 0.0) @ self.w2
        y -= y.mean(1, keepdims=True)
        y /= np.maximum(y.std(1, keepdims=True), 1e-12)
        y += self.b2
        if white_std > 0 and rng is not None:
            y += white_std * rng.standard_normal(y.shape)
        return np.maximum(y, 0.0, out=y)

    def taxonomy(self) -> list[dict]:
        """ActivityNet-style taxonomy nodes: root -> groups -> classes of both sets."""
        nodes = [{"nodeId": 0, "nodeName": "Root", "parentId": None, "parentName": None}]
        for g, name in enumerate(self.group_names):
            nodes.append({"nodeId": g + 1, "nodeName": name, "parentId": 0, "parentName": "Root"})
        next_id = len(nodes)
        for key in ("untrimmed", "moment"):
            cs = self.sets[key]
            for name, g in zip(cs.names, cs.groups):
                nodes.append({"nodeId": next_id, "nodeName": name, "parentId": int(g) + 1,
                              "parentName": self.group_names[int(g)]})
                next_id += 1
        return nodes
