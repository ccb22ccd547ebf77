"""ActivityNet-style evaluation: detection mAP and proposal AR@AN/AUC.

Self-contained (numpy only), numerically identical to the official ActivityNet evaluator on
the conformance fixtures, vectorised.  Library use::

    from evaluation import ANETdetection, ANETproposal
    result = ANETdetection("gt.json", "results.json", tiou_thresholds="0.5:0.95:0.05").evaluate()

Command lines: ``evaluation/get_detection_performance.py`` and
``evaluation/get_proposal_performance.py`` (also ``python -m evaluation.<name>``).
"""

from evaluation.eval_detection import ANETdetection
from evaluation.eval_proposal import ANETproposal
from evaluation.io import EvaluationError

__all__ = ["ANETdetection", "ANETproposal", "EvaluationError"]
