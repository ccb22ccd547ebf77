"""Learning-rate schedule of the localization/classification optimizers (reference §7.4).

Contract: ``learning_rate(iteration, config)`` -> float.  The rate starts at
``train.learning_rate`` and is multiplied by ``lr_decay_factor`` at every boundary that the
counter has passed (strictly: ``counter > boundary``).  ``lr_counter`` selects the counter:

* ``samples`` (upstream): the counter grows by the batch size per iteration, so with batch 16
  and boundaries every 15,000 the rate drops at iteration 938, 1876, ... and is 1e-9 from
  iteration 4688 on -- the released code's behaviour;
* ``iterations`` (the paper's reading): the counter is the iteration index.

Limits: adversarial optimizers use a constant rate and are not scheduled here.
"""


def learning_rate(iteration, train):
    """Rate for ``iteration`` (0-based) under the ``train`` config section."""
    mode = train.get("lr_counter", "samples")
    if mode == "samples":
        counter = iteration * int(train["batch_size"])
    elif mode == "iterations":
        counter = iteration
    else:
        raise ValueError(f"train.lr_counter must be 'samples' or 'iterations', not {mode!r}")
    passed = sum(1 for boundary in train["lr_boundaries"] if counter > boundary)
    return float(train["learning_rate"]) * float(train["lr_decay_factor"]) ** passed
