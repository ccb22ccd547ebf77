"""The batch cache: one load per iteration, every later read sees that same batch."""

import numpy as np
import pytest
import tensorflow as tf

from aher.train.batch_cache import BatchCache


def test_reads_see_the_loaded_batch_until_the_next_load():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.range(100).map(lambda i: {"x": tf.fill([2, 3], tf.cast(i, tf.float32)),
                                                       "name": tf.strings.as_string(i)})
        nxt = tf.compat.v1.data.make_one_shot_iterator(ds).get_next()
        cache = BatchCache({"s": nxt})
        assert "name" not in cache.tensors["s"]                      # strings are not cached
        doubled = cache.tensors["s"]["x"] * 2
        assert not tf.compat.v1.global_variables()                     # never saved in checkpoints
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.local_variables_initializer())
            sess.run(cache.load)
            first = [sess.run(doubled) for _ in range(3)]
            sess.run(cache.load)
            second = sess.run(doubled)
    assert all(np.array_equal(f, np.full((2, 3), 0.0)) for f in first)
    assert np.array_equal(second, np.full((2, 3), 2.0))


def test_dynamic_shapes_are_rejected():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.range(10).batch(3)                          # last batch short -> dynamic
        nxt = tf.compat.v1.data.make_one_shot_iterator(ds).get_next()
        with pytest.raises(ValueError, match="dynamic shape"):
            BatchCache({"s": {"x": nxt}})
