"""The SAL graph: network (sal_paper_vs_code §3), MSL (sal_paper_vs_code §4), AAL targets (sal_paper_vs_code §5) and video scores (sal_paper_vs_code §8.1).

Contract
--------
``SALConfig.from_config(config, num_classes)`` reads the ``model``, ``mil``, ``aal`` and
``inference`` sections of a validated SAL config
(:class:`aher.baselines.sal.config.SALExperimentConfig`, which checks every value's range and
choices).  ``SAL(cfg)`` builds, under the variable scope ``sal``
(AUTO_REUSE: every call shares one set of variables, named after the upstream state-dict keys:
``encoder``, ``action_rgb``, ``action_flow``, ``cls_rgb``, ``cls_flow``, ``cls``, ``fc``, ``fc1``):

* ``forward(x, training)`` -- x ``[B, T, D]`` -> dict of the sal_paper_vs_code §3 outputs (step numbers in the
  comments): ``cas`` / ``cas_bg`` ``[B, T, C]`` logits, ``actionness`` (fused a) ``[B, T]``,
  ``streams`` {name: a_s ``[B, T]``}, ``mixed_streams`` {name: ã_s} (training with mix-up only),
  ``bilinear_logits`` s ``[B, C]`` and ``stream_bilinear_logits`` {name: s_s} (MSL only),
  ``a_flow`` / ``a_rgb`` ``[B, T]`` (what sal_paper_vs_code §8.1 calls a_f / a_r).
* ``aal_targets(out, mask_state)`` -- sal_paper_vs_code §5.2 pseudo labels, sal_paper_vs_code §5.3 adaptive mask (with its EMA
  update), sal_paper_vs_code §5.4 mix-up labels and weights, all ``[B, T]`` and gradient-free.
* ``video_scores(out)`` -- sal_paper_vs_code §8.1 steps 1-4: ``combined`` ``[B, T, C]`` = weighted softmax(CAS) +
  a_f + a_r (default weights 1/3 each) and ``class_probs`` p ``[B, C]``; exactly what
  ``aher.model.snippet_grouping.detect`` takes (one row per video).

Streams (``model.streams``; sal_paper_vs_code §12 item 1):
  ``split``      two-stream features, RGB = channels ``[0, s)``, flow = ``[s, D)``, s =
                 ``model.stream_split`` or D/2 (upstream: I3D 1024 RGB ‖ 1024 flow);
  ``duplicate``  two heads (``rgb``, ``flow``) on the same full features, MSE kept (sal_paper_vs_code §12 item 1 b);
  ``single``     one actionness head ``single`` (``action_single``, ``cls_single``) on the full
                 features (sal_paper_vs_code §12 item 1 a); then
                 a_f = a_r = a wherever the reference names both (fused actionness a, the sal_paper_vs_code §8.1
                 combined score (softmax + 2a)/3), and the losses have one GCE, one mix-up
                 GCE, one per-stream bilinear CE and no MSE.
Ablation switches: ``model.msl`` (s, s_f, s_r, the fc1 propagation and the β fusion), ``aal.mixup``,
``aal.mask`` (m ≡ 1), ``aal.confidence_gate`` (all three off = plain top-k actionness pseudo labels
with an unmasked GCE, close to ASL); ``aal.enabled: false`` removes the AAL branch's supervision
(pseudo labels, GCE, mask, mix-up): the actionness heads stay in the network and learn only
through the fused actionness (propagation, CAS_bg, MIL selection) and the MSE.
Limits: no losses (``losses.py``), no optimizer, no data, no post-processing.  T may be
dynamic (it is read with ``tf.shape``); D must be static.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import tensorflow as tf

from aher.model import layers

SCOPE = "sal"
STATE_SCOPE = "sal_state"            # trainer-only state (mask statistics); never restored for inference
BILINEAR_EPS = 1e-5                  # offset inside the signed square root (sal_paper_vs_code §4.1)


@dataclass(frozen=True)
class SALConfig:
    """The network's settings in one flat record; the defaults are ``configs/sal_defaults.yaml``'s (a test
    keeps them equal), so the graph can be built alone."""

    feature_dim: int
    num_classes: int
    hidden_dim: int = 512
    streams: str = "split"
    stream_split: int | None = None
    rgb_weight: float = 0.1           # fused a = (1 - w) a_f + w a_r (upstream hp_lambda; ANet 0.3)
    encoder_kernel: int = 3
    stream_kernel: int = 3
    dropout: float = 0.5
    init: str = "torch"
    msl: bool = True
    topk_divisor: int = 8             # k = T // 8 (THUMOS; ANet 4)
    select_by: str = "combined"       # MIL top-k ranked by the combined score (THUMOS) or raw CAS (ANet)
    combined_weights: tuple = (1 / 3, 1 / 3, 1 / 3)   # (softmax CAS, a_f, a_r)
    aal: bool = True                  # the AAL branch's pseudo-label supervision at all
    actionness_topk_extra: int = 17   # pseudo-label candidates: top (k + 17) of a
    actionness_topk_fraction: float | None = None      # instead: top round(f * T) (ANet: 40 of 50)
    confidence_gate: bool = True
    gate_divisor: int = 2             # gate: top T // 2 of sum_c ReLU(CAS)
    mask: bool = True
    mask_momentum: float = 0.7        # EMA of the mask statistics (ANet 0.99)
    mask_variance_factor: float = 0.5  # mask = exp(-d^2 / (factor * var)) (THUMOS 1/2, ANet 6)
    mixup: bool = True
    beta: float = 0.35                # z_final = beta * z + (1 - beta) * s  (ANet 0.5)

    @classmethod
    def from_config(cls, config, num_classes):
        """The network settings of a :class:`aher.baselines.sal.config.SALExperimentConfig` for ``num_classes``."""
        model, mil, aal = config.model, config.mil, config.aal
        weights = mil.combined_weights
        return cls(feature_dim=model.feature_dim, num_classes=int(num_classes), hidden_dim=model.hidden_dim,
                   streams=model.streams, stream_split=model.stream_split, rgb_weight=model.rgb_weight,
                   encoder_kernel=model.encoder_kernel, stream_kernel=model.stream_kernel, dropout=model.dropout,
                   init=model.init, msl=model.msl, topk_divisor=mil.topk_divisor, select_by=mil.select_by,
                   combined_weights=(1 / 3, 1 / 3, 1 / 3) if weights is None else weights,
                   aal=aal.enabled, actionness_topk_extra=aal.actionness_topk_extra,
                   actionness_topk_fraction=aal.actionness_topk_fraction,
                   confidence_gate=aal.enabled and aal.confidence_gate, gate_divisor=aal.gate_divisor,
                   mask=aal.enabled and aal.mask, mask_momentum=aal.mask_momentum,
                   mask_variance_factor=aal.mask_variance_factor, mixup=aal.enabled and aal.mixup,
                   beta=config.inference.beta)

    @property
    def split_at(self):
        return self.feature_dim // 2 if self.stream_split is None else self.stream_split

    @property
    def stream_names(self):
        return ("single",) if self.streams == "single" else ("rgb", "flow")


# ----------------------------------------------------------------------------------- primitives


def _time_length(x):
    return tf.shape(x)[1]


def mil_k(t, divisor):
    """k = max(1, T // divisor) as a scalar int32 tensor (T a tensor or int)."""
    return tf.maximum(tf.cast(t, tf.int32) // divisor, 1)


def bilinear_pool(z, eps=BILINEAR_EPS):
    """Second-order descriptor BP(Z) of sal_paper_vs_code §4.1.

    z: [B, T, K] (post-ReLU, post-dropout embeddings).  Returns [B, K*K]:
    G = Zᵀ Z / T² (uncentred Gram matrix), flattened row-major, g = sign(G) sqrt(|G| + eps),
    v = g / max(||g||, 1e-12).
    """
    with tf.name_scope("bilinear_pool"):
        t = tf.cast(_time_length(z), tf.float32)
        gram = tf.linalg.matmul(z, z, transpose_a=True) / (t * t)                 # [B, K, K]
        k = z.shape[-1]
        flat = tf.reshape(gram, [-1, k * k])
        signed = tf.sign(flat) * tf.sqrt(tf.abs(flat) + eps)
        return tf.math.l2_normalize(signed, axis=-1, epsilon=1e-24)


def topk_mean(values, scores, k):
    """Per class, the mean of ``values`` at the top-``k`` time steps ranked by ``scores``.

    values, scores: [B, T, C]; k: scalar.  Returns [B, C] (top-k MIL pooling, sal_paper_vs_code §6.1 / sal_paper_vs_code §6.2 / sal_paper_vs_code §8.1).
    """
    with tf.name_scope("topk_mean"):
        v = tf.transpose(values, [0, 2, 1])                                        # [B, C, T]
        idx = tf.math.top_k(tf.transpose(scores, [0, 2, 1]), k=k).indices          # [B, C, k]
        return tf.reduce_mean(tf.gather(v, idx, batch_dims=2), axis=-1)


def topk_map(scores, k):
    """Binary [B, T] map of the top-``k`` time steps of ``scores`` [B, T] (no gradient)."""
    t = _time_length(scores)
    idx = tf.math.top_k(tf.stop_gradient(scores), k=k).indices                     # [B, k]
    return tf.reduce_max(tf.one_hot(idx, t, dtype=tf.float32), axis=1)


def combined_score(cas, a_flow, a_rgb, weights):
    """sal_paper_vs_code §6.1 / sal_paper_vs_code §8.1 step 1: w0 softmax_c(CAS) + w1 a_f + w2 a_r, [B, T, C] (actionness broadcast)."""
    w_softmax, w_flow, w_rgb = weights
    return (w_softmax * tf.nn.softmax(cas, axis=-1)
            + (w_flow * a_flow + w_rgb * a_rgb)[..., tf.newaxis])


def pseudo_labels(actionness, cas, k_actionness, k_gate=None):
    """Class-agnostic pseudo labels of sal_paper_vs_code §5.2, [B, T] in {0, 1}.

    y_t = 1 iff t is among the top ``k_actionness`` of the fused actionness and (when ``k_gate``
    is given) among the top ``k_gate`` of the confidence sum_c ReLU(CAS_t,c).  Everything else
    is a negative; the gate creates no ignore region.  Built from indices only (no gradient).
    """
    with tf.name_scope("pseudo_labels"):
        labels = topk_map(actionness, k_actionness)
        if k_gate is not None:
            confidence = tf.reduce_sum(tf.nn.relu(cas), axis=-1)
            labels = labels * topk_map(confidence, k_gate)
        return tf.stop_gradient(labels)


def mask_state(num_classes):
    """The trainer's running mask statistics (sal_paper_vs_code §5.3): μ (init 1/C) and σ² (init 1), non-trainable."""
    with tf.compat.v1.variable_scope(STATE_SCOPE, reuse=tf.compat.v1.AUTO_REUSE):
        mean = tf.compat.v1.get_variable("mask_mean", shape=[], dtype=tf.float32, trainable=False,
                                         initializer=tf.compat.v1.constant_initializer(1.0 / num_classes))
        var = tf.compat.v1.get_variable("mask_var", shape=[], dtype=tf.float32, trainable=False,
                                        initializer=tf.compat.v1.constant_initializer(1.0))
    return mean, var


def adaptive_mask(cas, state, momentum=0.7, variance_factor=0.5):
    """Truncated-Gaussian segment weights of sal_paper_vs_code §5.3, [B, T], gradient-free.

    p_max = max_c softmax(CAS) over all B*T segments; first the EMA update
    μ <- m μ + (1-m) mean(p_max), σ² <- m σ² + (1-m) var_unbiased(p_max) (divisor B*T - 1), then
    mask = exp(-min(p_max - μ, 0)² / (variance_factor * σ²)) with the *updated* statistics.
    ``state`` is ``(mean_variable, var_variable)``; returns ``(mask, new_mean, new_var)`` (the
    updated statistics as tensors; evaluating the mask assigns them to the variables).
    """
    with tf.name_scope("adaptive_mask"):
        mean_var, var_var = state
        p_max = tf.stop_gradient(tf.reduce_max(tf.nn.softmax(cas, axis=-1), axis=-1))   # [B, T]
        flat = tf.reshape(p_max, [-1])
        n = tf.cast(tf.size(flat), tf.float32)
        batch_mean = tf.reduce_mean(flat)
        batch_var = tf.reduce_sum(tf.square(flat - batch_mean)) / tf.maximum(n - 1.0, 1.0)
        new_mean = momentum * mean_var.read_value() + (1.0 - momentum) * batch_mean
        new_var = momentum * var_var.read_value() + (1.0 - momentum) * batch_var
        update = tf.group(mean_var.assign(new_mean), var_var.assign(new_var))
        below = tf.minimum(p_max - new_mean, 0.0)
        with tf.control_dependencies([update]):             # computing the mask performs the update
            mask = tf.exp(-tf.square(below) / (variance_factor * new_var))
        return tf.stop_gradient(mask), new_mean, new_var


def mixup_targets(labels, mask):
    """sal_paper_vs_code §5.4: video b is mixed with video (b-1) mod B; labels are OR-ed, masks averaged. [B, T] each."""
    with tf.name_scope("mixup_targets"):
        other_labels = tf.roll(labels, shift=1, axis=0)
        mixed_labels = tf.cast(labels + other_labels >= 1.0, tf.float32)
        mixed_mask = (mask + tf.roll(mask, shift=1, axis=0)) / 2.0
        return mixed_labels, mixed_mask


def mix_inputs(x):
    """sal_paper_vs_code §3 step 1: X̃[b] = X[b] + X[(b-1) mod B] (no coefficient, no normalisation)."""
    return x + tf.roll(x, shift=1, axis=0)


# ----------------------------------------------------------------------------------- layers


def _torch_getter(fan_in, kind):
    """Custom getter giving ``layers``' variables PyTorch's initialisation (sal_paper_vs_code §3, sal_paper_vs_code §13).

    kind ``default``: weights and biases U(±1/sqrt(fan_in)); kind ``kaiming``: weights
    N(0, 2/fan_in) (fc1), biases 0.
    """
    bound = 1.0 / math.sqrt(fan_in)

    def custom_getter(getter, name, *args, **kwargs):
        if kind == "kaiming" and name.endswith("weights"):
            kwargs["initializer"] = tf.compat.v1.random_normal_initializer(stddev=math.sqrt(2.0 / fan_in))
        elif kind == "kaiming":
            kwargs["initializer"] = tf.compat.v1.zeros_initializer()
        else:
            kwargs["initializer"] = tf.compat.v1.random_uniform_initializer(-bound, bound)
        return getter(name, *args, **kwargs)

    return custom_getter


class SAL:
    """Builds the SAL branches on given tensors; all variables live under ``sal/`` (shared)."""

    def __init__(self, cfg: SALConfig):
        self.cfg = cfg

    @contextlib.contextmanager
    def _scope(self):
        if tf.compat.v1.get_variable_scope().name:
            raise ValueError("SAL graph functions must be called outside any variable scope")
        with tf.compat.v1.variable_scope(SCOPE, reuse=tf.compat.v1.AUTO_REUSE) as scope:
            yield scope

    def _init(self, fan_in, kind="default"):
        """Re-open the current variable scope with the configured initialisation."""
        if self.cfg.init == "glorot":
            return contextlib.nullcontext()
        return tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(), custom_getter=_torch_getter(fan_in, kind),
                                           auxiliary_name_scope=False)

    def _conv(self, x, out, kernel, name, activation):
        with self._init(kernel * int(x.shape[-1])):
            return layers.conv1d(x, out, kernel, scope=name, activation=activation)

    def _dense(self, x, out, name, kind="default"):
        with self._init(int(x.shape[-1]), kind):
            return layers.fully_connected(x, out, scope=name, init="glorot")

    def _dropout(self, x, training):
        if training and self.cfg.dropout > 0:
            return tf.nn.dropout(x, rate=self.cfg.dropout)
        return x

    def _stream_inputs(self, x):
        cfg = self.cfg
        if cfg.streams == "split":
            return {"rgb": x[..., :cfg.split_at], "flow": x[..., cfg.split_at:]}
        if cfg.streams == "duplicate":
            return {"rgb": x, "flow": x}
        return {"single": x}

    def _actionness(self, x, name, training):
        """action_<s>: conv k3 -> ReLU -> dropout (H_s); cls_<s>: conv k1 -> sigmoid (a_s [B, T])."""
        h = self._dropout(self._conv(x, self.cfg.hidden_dim, self.cfg.stream_kernel, f"action_{name}", tf.nn.relu),
                          training)
        a = tf.sigmoid(self._conv(h, 1, 1, f"cls_{name}", None))[..., 0]
        return h, a

    def fuse(self, streams):
        """sal_paper_vs_code §3 step 3: a = (1 - w) a_f + w a_r (w = model.rgb_weight); single stream: a."""
        if self.cfg.streams == "single":
            return streams["single"]
        w = self.cfg.rgb_weight
        return (1.0 - w) * streams["flow"] + w * streams["rgb"]

    def forward(self, x, training):
        """The sal_paper_vs_code §3 forward pass on x [B, T, D]; see the module docstring for the outputs."""
        cfg = self.cfg
        if int(x.shape[-1]) != cfg.feature_dim:
            raise ValueError(f"SAL: input has {x.shape[-1]} channels, model.feature_dim is {cfg.feature_dim}")
        out = {}
        with self._scope(), tf.name_scope("forward" if training else "inference"):
            inputs = self._stream_inputs(x)
            hidden, streams = {}, {}
            for name, xs in inputs.items():                                       # step 2
                hidden[name], streams[name] = self._actionness(xs, name, training)
            if training and cfg.mixup:                                            # steps 1-2, mixed pass
                out["mixed_streams"] = {name: self._actionness(mix_inputs(xs), name, training)[1]
                                        for name, xs in inputs.items()}
            a = self.fuse(streams)                                                # step 3
            h = self._dropout(self._conv(x, cfg.hidden_dim, cfg.encoder_kernel, "encoder", tf.nn.relu),
                              training)                                           # step 4
            if cfg.msl:
                with tf.name_scope("msl"):
                    v = bilinear_pool(h)                                          # step 5
                    u = self._dense(v, cfg.hidden_dim, "fc1", kind="kaiming")     # step 6
                    h = h + a[..., tf.newaxis] * u[:, tf.newaxis, :]              # step 7, propagation
                    out["bilinear_logits"] = self._dense(v, cfg.num_classes, "fc")  # step 8
                    out["stream_bilinear_logits"] = {name: self._dense(bilinear_pool(hs), cfg.num_classes, "fc")
                                                      for name, hs in hidden.items()}
            cas = self._conv(h, cfg.num_classes, 1, "cls", None)                  # step 9
            out.update(cas=cas, cas_bg=cas * (1.0 - a)[..., tf.newaxis],          # step 10
                       actionness=a, streams=streams,
                       a_flow=streams.get("flow", a), a_rgb=streams.get("rgb", a))
        return out

    # ------------------------------------------------------------------------------- AAL

    def aal_targets(self, out, state=None):
        """sal_paper_vs_code §5.2-5.4 targets of a training forward pass (``state`` from :func:`mask_state`).

        Returns a dict: ``labels`` y, ``mask`` m (ones when the mask is off), and with mix-up
        ``mixed_labels`` ỹ and ``mixed_mask`` m̃ -- all [B, T] -- plus ``mask_mean`` /
        ``mask_var`` (the updated statistics) when the mask is on.
        """
        cfg = self.cfg
        with tf.name_scope("aal"):
            a, cas = out["actionness"], out["cas"]
            t = _time_length(cas)
            k = mil_k(t, cfg.topk_divisor)
            if cfg.actionness_topk_fraction is not None:
                k_act = tf.cast(tf.round(cfg.actionness_topk_fraction * tf.cast(t, tf.float32)), tf.int32)
            else:
                k_act = k + cfg.actionness_topk_extra
            k_act = tf.clip_by_value(k_act, 1, t)
            k_gate = tf.maximum(t // cfg.gate_divisor, 1) if cfg.confidence_gate else None
            targets = {"labels": pseudo_labels(a, cas, k_act, k_gate)}
            if cfg.mask:
                if state is None:
                    raise ValueError("the adaptive mask needs the trainer's mask_state()")
                targets["mask"], targets["mask_mean"], targets["mask_var"] = adaptive_mask(
                    cas, state, cfg.mask_momentum, cfg.mask_variance_factor)
            else:
                targets["mask"] = tf.ones_like(targets["labels"])
            if cfg.mixup:
                targets["mixed_labels"], targets["mixed_mask"] = mixup_targets(targets["labels"], targets["mask"])
            return targets

    # ------------------------------------------------------------------------------- sal_paper_vs_code §8.1

    def mil_scores(self, out, weights=None):
        """Top-k MIL video logits z [B, C]: mean raw CAS over the top-k steps of the combined
        score (``mil.select_by: combined``) or of the raw CAS (``cas``)."""
        cas = out["cas"]
        k = mil_k(_time_length(cas), self.cfg.topk_divisor)
        if self.cfg.select_by == "cas":
            return topk_mean(cas, cas, k)
        return topk_mean(cas, combined_score(cas, out["a_flow"], out["a_rgb"], weights or self.cfg.combined_weights), k)

    def video_scores(self, out):
        """sal_paper_vs_code §8.1 steps 1-4 on an inference forward pass: ``combined`` [B, T, C] and ``class_probs`` [B, C].

        combined = w0 softmax(CAS) + w1 a_f + w2 a_r; z = top-k mean of CAS ranked by combined;
        z_final = β z + (1 - β) s (MSL on; z otherwise); p = softmax(z_final).
        """
        with tf.name_scope("video_scores"):
            combined = combined_score(out["cas"], out["a_flow"], out["a_rgb"], self.cfg.combined_weights)
            z = self.mil_scores(out)
            if self.cfg.msl:
                z = self.cfg.beta * z + (1.0 - self.cfg.beta) * out["bilinear_logits"]
            return {"combined": combined, "class_probs": tf.nn.softmax(z, axis=-1)}


def model_variables():
    """The trainable model variables (``sal/``), e.g. for an inference Saver."""
    return [v for v in tf.compat.v1.global_variables() if v.op.name.startswith(SCOPE + "/")]
