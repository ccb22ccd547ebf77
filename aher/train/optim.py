"""The optimizers of the training sub-steps (paper_vs_code §7.2-paper_vs_code §7.4).

Contract: every localization/classification sub-step uses Adam with the ``train`` section's
betas and epsilon on the scheduled learning-rate placeholder (:func:`adam`); a localization
sub-step is two such optimizers with their own slots built from one forward pass, one on
``L_prop`` and one on ``L_cls`` (:func:`two_adams`, as the released code); the adversarial
sub-steps (S5a, S5b/c, and AherNet_A-'s SL2) use the ``adversarial`` section's constant rate and
beta1 (:func:`adversarial_adam`).  Optimizer names are the sub-step's (``S3_adam_prop``), so
their slots are named after it in checkpoints.  With ``train.precision: mixed_float16`` every
optimizer is wrapped in dynamic loss scaling (the loss is multiplied by a scale before
differentiation, the gradients divided by it; an update whose gradients are not finite is skipped
and the scale halved, and the scale doubles after 2,000 finite ones); bfloat16 has float32's
exponent range and needs none.
Limits: builds update ops only; which variables each one updates is ``aher.model.variable_groups``.
"""

import tensorflow as tf


def _scaled(optimizer, train):
    """``optimizer`` with dynamic loss scaling under ``train.precision: mixed_float16``."""
    if train.precision != "mixed_float16":
        return optimizer
    return tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(optimizer, loss_scale="dynamic")


def adam(lr, train, name):
    """Adam on the learning rate ``lr`` (placeholder or float) with the ``train`` section's betas."""
    return _scaled(tf.compat.v1.train.AdamOptimizer(lr, beta1=train.adam_beta1, beta2=train.adam_beta2,
                                                    epsilon=train.adam_epsilon, name=name), train)


def adversarial_adam(adversarial, train, name):
    """Adam at the ``adversarial`` section's constant rate and beta1 (beta2/epsilon from ``train``)."""
    return _scaled(tf.compat.v1.train.AdamOptimizer(adversarial.learning_rate, beta1=adversarial.beta1,
                                                    beta2=train.adam_beta2, epsilon=train.adam_epsilon, name=name),
                   train)


def two_adams(losses, var_list, lr, train, step):
    """One op updating ``var_list`` by ``L_prop`` and by ``L_cls``, each with its own Adam slots.

    Both gradients are taken at the variables' values before the op (as upstream): every gradient
    is computed before the first update is applied. The ``L_cls`` update is applied first, then
    the ``L_prop`` one, so the sum of the two updates is rounded the same way on every run (two
    unordered in-place updates of one variable are not reproducible); this order reproduces the
    released code's traces through a whole Algorithm-1 iteration (``tests/upstream``).
    """
    cls_adam = adam(lr, train, f"{step}_adam_cls")
    prop_adam = adam(lr, train, f"{step}_adam_prop")
    cls_grads = cls_adam.compute_gradients(losses["classification"], var_list=var_list)
    prop_grads = prop_adam.compute_gradients(losses["prop"], var_list=var_list)
    with tf.control_dependencies([g for g, _ in cls_grads + prop_grads if g is not None]):
        cls = cls_adam.apply_gradients(cls_grads)
    with tf.control_dependencies([cls]):
        prop = prop_adam.apply_gradients(prop_grads)
    return tf.group(cls, prop, name=f"{step}_train")
