"""The optimizers of the training sub-steps (paper_vs_code §7.2-paper_vs_code §7.4).

Contract: every localization/classification sub-step uses Adam with the ``train`` section's
betas and epsilon on the scheduled learning-rate placeholder (:func:`adam`); a localization
sub-step is two such optimizers with their own slots built from one forward pass, one on
``L_prop`` and one on ``L_cls`` (:func:`two_adams`, as the released code); the adversarial
sub-steps (S5a, S5b/c, and AherNet_A-'s SL2) use the ``adversarial`` section's constant rate and
beta1 (:func:`adversarial_adam`).  Optimizer names are the sub-step's (``S3_adam_prop``), so
their slots are named after it in checkpoints.
Limits: builds update ops only; which variables each one updates is ``aher.model.variable_groups``.
"""

import tensorflow as tf


def adam(lr, train, name):
    """Adam on the learning rate ``lr`` (placeholder or float) with the ``train`` section's betas."""
    return tf.compat.v1.train.AdamOptimizer(lr, beta1=train.adam_beta1, beta2=train.adam_beta2,
                                            epsilon=train.adam_epsilon, name=name)


def adversarial_adam(adversarial, train, name):
    """Adam at the ``adversarial`` section's constant rate and beta1 (beta2/epsilon from ``train``)."""
    return tf.compat.v1.train.AdamOptimizer(adversarial.learning_rate, beta1=adversarial.beta1,
                                            beta2=train.adam_beta2, epsilon=train.adam_epsilon, name=name)


def two_adams(losses, var_list, lr, train, step):
    """One op updating ``var_list`` by ``L_prop`` and by ``L_cls``, each with its own Adam slots.

    Both gradients are taken at the variables' values before the op (as upstream); the ``L_cls``
    update is applied after the ``L_prop`` one, so the sum of the two updates is rounded the same
    way on every run (two unordered in-place updates of one variable are not reproducible).
    """
    prop = adam(lr, train, f"{step}_adam_prop").minimize(losses["prop"], var_list=var_list)
    cls_adam = adam(lr, train, f"{step}_adam_cls")
    grads = cls_adam.compute_gradients(losses["classification"], var_list=var_list)
    with tf.control_dependencies([prop]):
        cls = cls_adam.apply_gradients(grads)
    return tf.group(prop, cls, name=f"{step}_train")
