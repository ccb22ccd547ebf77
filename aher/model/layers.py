"""TF1-style layer primitives: 1-D convolution and fully connected layer (paper_vs_code §2.1, paper_vs_code §13).

Stand-ins for ``tf.contrib.layers.conv1d`` / ``fully_connected`` of the upstream code, built from
``tf.compat.v1.get_variable`` and ``tf.nn`` only (no ``tf.compat.v1.layers`` / Keras, which are
unusable under Keras 3).

Contract:
  * ``conv1d`` creates ``<scope>/weights`` ``[k, C_in, C_out]`` (Glorot/Xavier uniform, fan-in
    ``k*C_in``, fan-out ``k*C_out`` like contrib's ``xavier_initializer``) and ``<scope>/biases``
    ``[C_out]`` (zeros). Bias is always present; activation defaults to ReLU, padding to SAME.
  * ``fully_connected`` creates ``<scope>/weights`` ``[C_in, out]`` and ``<scope>/biases`` ``[out]``
    (zeros); kernel initialised to the identity (weight-transfer MLP, paper_vs_code §3.2) or Glorot uniform.
  * Variable names ``weights`` / ``biases`` keep the scope-based selection of
    ``aher.model.variable_groups`` (paper_vs_code §7.2) working.
  * ``model_scope`` opens the shared root variable scope ``aher`` with AUTO_REUSE, so every graph
    branch (Kcls, Ksyn, Afg, Aun, test) shares one set of variables.
  * ``ACTIVATIONS`` maps the activation names of the Table 1 transfer variants to ops. LeakyReLU
    is ``tf.nn.leaky_relu`` with its default negative slope **0.2** (the paper does not give the
    slope).

Limits:
  * Float32 graphs only; no weight decay, batch norm or dropout (the model has none, paper_vs_code §2.1).
  * Reuse is inherited from the enclosing variable scope: these functions never set it
    themselves, so calling one twice with the same scope outside an AUTO_REUSE scope raises
    TensorFlow's usual "variable already exists" error.
  * Input channels must be statically known (they fix the variable shapes).
"""

from __future__ import annotations

import contextlib

import tensorflow as tf

MODEL_SCOPE = "aher"

ACTIVATIONS = {
    "none": None,
    "relu": tf.nn.relu,
    "leaky_relu": tf.nn.leaky_relu,   # negative slope 0.2 (tf.nn.leaky_relu default)
    "elu": tf.nn.elu,
}

_INITS = ("identity", "glorot")


def resolve_activation(activation):
    """Activation given as a callable, ``None`` or a name of ``ACTIVATIONS`` -> callable or None."""
    if activation is None or callable(activation):
        return activation
    try:
        return ACTIVATIONS[activation]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}") from None


@contextlib.contextmanager
def model_scope():
    """Open the root variable scope ``aher`` with AUTO_REUSE.

    Must be entered at the top level of variable scopes (name scopes may enclose it): variable
    names are absolute (``aher/...``) by contract, and a silently nested ``x/aher/...`` would
    escape every variable group. Raises ValueError when called inside another variable scope.
    """
    outer = tf.compat.v1.get_variable_scope().name
    if outer:
        raise ValueError(f"model graph functions must be called outside any variable scope "
                         f"(current variable scope {outer!r}); they open {MODEL_SCOPE!r} themselves")
    with tf.compat.v1.variable_scope(MODEL_SCOPE, reuse=tf.compat.v1.AUTO_REUSE) as scope:
        yield scope


def _static_channels(x, rank, what):
    shape = x.shape
    if shape.rank is not None and shape.rank != rank:
        raise ValueError(f"{what}: expected a rank-{rank} tensor, got shape {shape}")
    channels = shape[-1] if shape.rank is not None else None
    if channels is None:
        raise ValueError(f"{what}: the last dimension must be statically known, got shape {shape}")
    return int(channels)


def conv1d_variables(in_channels, out_channels, kernel_size):
    """Create/fetch ``weights`` [k, C_in, C_out] (Glorot uniform) and ``biases`` [C_out] (zeros).

    Created in the current variable scope; returns (weights, biases).
    """
    weights = tf.compat.v1.get_variable(
        "weights", shape=[kernel_size, in_channels, out_channels], dtype=tf.float32,
        initializer=tf.compat.v1.glorot_uniform_initializer())
    biases = tf.compat.v1.get_variable(
        "biases", shape=[out_channels], dtype=tf.float32, initializer=tf.compat.v1.zeros_initializer())
    return weights, biases


def conv1d(x, out_channels, kernel_size, stride=1, scope=None, activation=tf.nn.relu, padding="SAME"):
    """1-D convolution with bias and activation (contrib ``conv1d`` stand-in).

    Args:
      x: float32 [B, T, C_in], C_in static.
      out_channels: C_out.
      kernel_size: k.
      stride: temporal stride.
      scope: variable scope of ``weights`` [k, C_in, C_out] and ``biases`` [C_out] (required;
        may be given positionally or by keyword).
      activation: callable, ``None`` or a name in ``ACTIVATIONS``; default ReLU.
      padding: "SAME" or "VALID".

    Returns:
      float32 [B, T', C_out] with T' = ceil(T / stride) (SAME) or floor((T - k) / stride) + 1 (VALID).
    """
    if not scope:
        raise ValueError("conv1d needs a variable scope name")
    activation = resolve_activation(activation)
    in_channels = _static_channels(x, 3, f"conv1d {scope!r}")
    with tf.compat.v1.variable_scope(scope):
        weights, biases = conv1d_variables(in_channels, out_channels, kernel_size)
        y = tf.nn.bias_add(tf.nn.conv1d(x, weights, stride=stride, padding=padding), biases)
        return activation(y) if activation is not None else y


def fully_connected(x, out, scope, activation=None, init="identity"):
    """Fully connected layer ``activation(x @ weights + biases)``.

    Args:
      x: float32 [N, C_in], C_in static.
      out: output width.
      scope: variable scope of ``weights`` [C_in, out] and ``biases`` [out] (zeros).
      activation: callable, ``None`` (default, linear) or a name in ``ACTIVATIONS``.
      init: "identity" (requires C_in == out; the weight-transfer MLP, paper_vs_code §3.2) or "glorot".

    Returns:
      float32 [N, out].
    """
    if init not in _INITS:
        raise ValueError(f"unknown init {init!r}; expected one of {_INITS}")
    activation = resolve_activation(activation)
    in_channels = _static_channels(x, 2, f"fully_connected {scope!r}")
    if init == "identity" and in_channels != out:
        raise ValueError(f"fully_connected {scope!r}: identity init needs C_in == out, got {in_channels} -> {out}")
    kernel_init = (tf.compat.v1.initializers.identity() if init == "identity"
                   else tf.compat.v1.glorot_uniform_initializer())
    with tf.compat.v1.variable_scope(scope):
        weights = tf.compat.v1.get_variable("weights", shape=[in_channels, out], dtype=tf.float32,
                                            initializer=kernel_init)
        biases = tf.compat.v1.get_variable("biases", shape=[out], dtype=tf.float32,
                                           initializer=tf.compat.v1.zeros_initializer())
        y = tf.nn.bias_add(tf.linalg.matmul(x, weights), biases)
        return activation(y) if activation is not None else y
