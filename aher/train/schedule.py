"""Learning-rate schedule of the localization/classification optimizers (paper_vs_code §7.4).

Contract: ``learning_rate(iteration, train)`` -> float for the ``train`` section.  The rate starts at
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
    counter = iteration * train.batch_size if train.lr_counter == "samples" else iteration
    passed = sum(1 for boundary in train.lr_boundaries if counter > boundary)
    return train.learning_rate * train.lr_decay_factor ** passed
