"""What one training iteration asks of a device: ops per sub-step, host code, pinned ops, transfers.

Contract: ``run_ops(target)`` is the set of ops a ``session.run`` of ``target`` can execute (its
ancestors through data and control inputs); ``iteration_stats(loop)`` counts, for every sub-step
of a :class:`~aher.train.loop.LoopGraph`, those ops, the ones that run Python (``PyFunc`` and
relatives: a GPU would wait for the host), and the ones pinned to a CPU device by the graph; and
for the whole iteration the tensors that cross between host and graph: the batch load (the
iterator's tensors, copied into the batch cache once per iteration), the learning-rate scalars
fed, and the tensors fetched on an iteration without logging (none: sub-steps fetch only their
train op).  Starting the input streams (``LoopGraph.start_streams``) is one run before the first
iteration and is not counted.

Limits: static counts; Grappler may prune or fuse some of these ops before they run (the executed
kernel counts are in ``bench/bench_train.py``'s traced runs, not here). The input pipeline's own
ops (tf.data) run on the host by design and are not counted as pinned.
"""

HOST_OP_TYPES = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
_INPUT_OP_TYPES = frozenset({"IteratorGetNext", "IteratorV2", "OneShotIterator", "MakeIterator",
                             "AnonymousIteratorV2", "AnonymousIteratorV3"})


def run_ops(target):
    """The ops a ``session.run(target)`` can execute: ``target``'s op and its ancestors."""
    start = getattr(target, "op", target)
    seen, stack = {start}, [start]
    while stack:
        op = stack.pop()
        for parent in [t.op for t in op.inputs] + list(op.control_inputs):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def _pinned_to_cpu(op):
    return "CPU" in op.device.upper() and op.type not in _INPUT_OP_TYPES and not op.type.startswith("Dataset")


def iteration_stats(loop):
    """``{"steps": {name: {"ops", "host_ops", "pinned_cpu"}}, "load_ops", "transfers_in", "transfers_out"}``."""
    steps = {}
    for step in loop.steps:
        ops = run_ops(step.train_op)
        steps[step.name] = {"ops": len(ops), "host_ops": sum(op.type in HOST_OP_TYPES for op in ops),
                            "pinned_cpu": sum(_pinned_to_cpu(op) for op in ops)}
    load = run_ops(loop.load_batches)
    batch_tensors = sum(len(op.outputs) for op in load if op.type == "IteratorGetNext")
    lr_feeds = sum(1 for step in loop.steps if step.feed_lr) if loop.lr is not None else 0
    return {"steps": steps, "load_ops": len(load), "load_host_ops": sum(op.type in HOST_OP_TYPES for op in load),
            "transfers_in": batch_tensors + lr_feeds, "transfers_out": 0}
