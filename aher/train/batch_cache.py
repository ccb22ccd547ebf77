"""Hold one batch per input stream in graph variables, so every sub-step reuses it.

Contract: ``BatchCache(streams)`` takes ``{stream: {key: tensor}}`` (the ``get_next()`` dicts of
the tf.data iterators) and creates one non-trainable *local* variable per numeric tensor.
``cache.load`` copies a fresh batch of every stream into the variables inside the graph (one
``session.run`` per iteration); ``cache.tensors[stream][key]`` reads them.  Sub-steps that run
afterwards in separate ``session.run`` calls all see the same batch, and nothing is copied from
Python into the graph (upstream fed ~64 MB per stream per sub-step through ``feed_dict``).

:func:`stream_batches` makes those dicts from datasets: one-shot iterators, or initializable
ones started by an op (a trainer whose streams can start at any iteration, see
``aher.train.loop``), with tf.data's autotuner off (every pipeline's parallelism is a fixed number).

Limits: tensors need fully static shapes (training pipelines drop the last short batch);
string tensors are not cached.  The variables live in ``LOCAL_VARIABLES`` so checkpoints never
contain data.
"""

import tensorflow as tf


def stream_batches(datasets, startable=False):
    """``({stream: get_next dict}, start op)`` for ``{stream: dataset}``.

    ``startable``: initializable iterators (datasets may depend on a placeholder, e.g. their start
    position) and the op that initializes them all, to run before the first batch; otherwise
    one-shot iterators and None.
    """
    options = tf.data.Options()
    options.autotune.enabled = False         # its thread can hold a session's close() for up to a minute
    datasets = {name: ds.with_options(options) for name, ds in datasets.items()}
    if not startable:
        return {name: tf.compat.v1.data.make_one_shot_iterator(ds).get_next() for name, ds in datasets.items()}, None
    iterators = {name: tf.compat.v1.data.make_initializable_iterator(ds) for name, ds in datasets.items()}
    start = tf.group(*[it.initializer for it in iterators.values()], name="start_streams")
    return {name: it.get_next() for name, it in iterators.items()}, start


class BatchCache:
    def __init__(self, streams, scope="batch_cache"):
        self.tensors = {}
        assigns = []
        with tf.compat.v1.variable_scope(scope):
            for stream, tensors in streams.items():
                self.tensors[stream] = {}
                for key, tensor in tensors.items():
                    if tensor.dtype == tf.string:
                        continue
                    shape = tensor.shape
                    if not shape.is_fully_defined():
                        raise ValueError(f"batch cache: {stream}/{key} has a dynamic shape {shape}; "
                                         "training streams must have static shapes (drop_remainder)")
                    var = tf.compat.v1.get_variable(
                        f"{stream}/{key}", shape=shape, dtype=tensor.dtype, trainable=False,
                        initializer=tf.compat.v1.zeros_initializer(),
                        collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES])
                    assigns.append(var.assign(tensor))
                    self.tensors[stream][key] = var.read_value() if hasattr(var, "read_value") else var
        self.load = tf.group(*assigns, name="load_batches")
