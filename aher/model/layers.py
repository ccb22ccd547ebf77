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
  * The product of a convolution is :func:`conv1d_product`. Wide layers (``C_in * C_out >=
    MATMUL_MIN_CHANNEL_PRODUCT``, the paper's g_conv1/g_conv2, generators and deep anchor layers)
    run as one matrix product of the k shifted copies of the input ([B*T', k*C_in] x [k*C_in,
    C_out]); CPU matrix-product kernels reach about twice the rate of the convolution kernels on
    these shapes, above all for the weight gradient (``bench/bench_train.py``). The sum is the same
    up to float32 rounding order. Narrow layers use ``tf.nn.conv1d``, faster there.
  * Precision: inside ``with compute_precision("mixed_bfloat16")`` (or ``"mixed_float16"``) the
    convolutions of :func:`conv1d` compute in that type (input and kernel cast, result cast back to
    float32), all as matrix products (TensorFlow 2.21's oneDNN bfloat16 convolution gradient gave
    non-finite weight gradients on length-1 anchor layers); variables, activations between layers,
    heads, losses and gradients of variables stay float32. ``"float32"`` (the default) computes
    everything in float32.

Limits:
  * Variables are float32; no weight decay, batch norm or dropout (the model has none, paper_vs_code §2.1).
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

#: ``C_in * C_out`` from which a convolution runs as one matrix product (:func:`conv1d_product`)
MATMUL_MIN_CHANNEL_PRODUCT = 1 << 20

#: precision policies of :func:`compute_precision`: name -> compute type of the convolutions
PRECISIONS = {"float32": tf.float32, "mixed_bfloat16": tf.bfloat16, "mixed_float16": tf.float16}

_policy = {"dtype": tf.float32, "formulation": "auto"}

#: formulations of :func:`conv1d_product`
FORMULATIONS = ("auto", "conv", "matmul")


@contextlib.contextmanager
def compute_precision(name):
    """Layers built inside compute their convolutions in the policy's type (``PRECISIONS``)."""
    if name not in PRECISIONS:
        raise ValueError(f"unknown precision {name!r}; expected one of {sorted(PRECISIONS)}")
    previous = _policy["dtype"]
    _policy["dtype"] = PRECISIONS[name]
    try:
        yield
    finally:
        _policy["dtype"] = previous


@contextlib.contextmanager
def conv_formulation(name):
    """Convolutions built inside use formulation ``name`` (``FORMULATIONS``; default "auto")."""
    if name not in FORMULATIONS:
        raise ValueError(f"unknown formulation {name!r}; expected one of {FORMULATIONS}")
    previous = _policy["formulation"]
    _policy["formulation"] = name
    try:
        yield
    finally:
        _policy["formulation"] = previous


def compute_dtype():
    """The compute type of convolutions built now (float32 outside :func:`compute_precision`)."""
    return _policy["dtype"]


def same_padding(length, kernel_size, stride):
    """TensorFlow's SAME padding of a 1-D convolution: (pad before, pad after, output length)."""
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel_size - length, 0)
    return total // 2, total - total // 2, out


def _taps(x, kernel_size, out, stride):
    """The k inputs of each output position: tap i at output t is x[t * stride + i], [B, out, C] each.

    Plain slices (stride 1) or slices of the stride phases of a [B, T/s, s, C] reshape: their
    gradients are pads and reshapes, not the scatter of a strided slice's gradient.
    """
    if stride == 1:
        return [tf.slice(x, [0, i, 0], [-1, out, -1]) for i in range(kernel_size)]
    length, channels = int(x.shape[1]), int(x.shape[2])
    rows = out + (kernel_size - 1) // stride
    need = rows * stride
    if need > length:
        x = tf.pad(x, [[0, 0], [0, need - length], [0, 0]])
    elif need < length:
        x = tf.slice(x, [0, 0, 0], [-1, need, -1])
    phases = tf.reshape(x, [-1, rows, stride, channels])
    return [tf.reshape(tf.slice(phases, [0, i // stride, i % stride, 0], [-1, out, 1, -1]), [-1, out, channels])
            for i in range(kernel_size)]


def _shifted_product(x, weights, stride, padding):
    """The convolution as [B*T', k*C_in] x [k*C_in, C_out]: the k shifted (strided) copies of the
    padded input side by side, times the kernel flattened the same way."""
    k, c_in, c_out = (int(d) for d in weights.shape)
    length = int(x.shape[1])
    if padding == "SAME":
        before, after, out = same_padding(length, k, stride)
        x = tf.pad(x, [[0, 0], [before, after], [0, 0]])
    else:
        out = (length - k) // stride + 1
    taps = _taps(x, k, out, stride)
    columns = tf.concat(taps, axis=-1) if k > 1 else taps[0]
    y = tf.linalg.matmul(tf.reshape(columns, [-1, k * c_in]), tf.reshape(weights, [k * c_in, c_out]))
    return tf.reshape(y, [-1, out, c_out])


def conv1d_product(x, weights, stride=1, padding="SAME", formulation=None):
    """``tf.nn.conv1d(x, weights, stride, padding)``: x [B, T, C_in], weights [k, C_in, C_out].

    ``formulation``: "conv" (``tf.nn.conv1d``), "matmul" (one matrix product over the shifted
    copies; needs a static T) or "auto" (matmul for ``C_in * C_out >= MATMUL_MIN_CHANNEL_PRODUCT``
    when T is static, and for every layer whose input is not float32; conv otherwise); None: the one
    of :func:`conv_formulation` ("auto" outside).
    Computed in the input's type.
    """
    formulation = formulation or _policy["formulation"]
    if formulation not in FORMULATIONS:
        raise ValueError(f"unknown formulation {formulation!r}; expected auto, conv or matmul")
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"unknown padding {padding!r}; expected SAME or VALID")
    static_t = x.shape.rank == 3 and x.shape[1] is not None
    if formulation == "auto":
        wide = int(weights.shape[1]) * int(weights.shape[2]) >= MATMUL_MIN_CHANNEL_PRODUCT
        low = x.dtype.base_dtype != tf.float32
        formulation = "matmul" if (wide or low) and static_t else "conv"
    if formulation == "matmul":
        if not static_t:
            raise ValueError(f"conv1d_product: the matmul formulation needs a static length, got shape {x.shape}")
        return _shifted_product(x, weights, stride, padding)
    return tf.nn.conv1d(x, weights, stride=stride, padding=padding)


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
        dtype = compute_dtype()
        if dtype == tf.float32:
            y = conv1d_product(x, weights, stride, padding)
        else:
            y = tf.cast(conv1d_product(tf.cast(x, dtype), tf.cast(weights, dtype), stride, padding), tf.float32)
        y = tf.nn.bias_add(y, biases)
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
