"""Temporal IoU and tIoU-threshold parsing shared by the detection and proposal metrics.

Contract: pure numpy functions, float64 throughout.  ``segment_tiou`` evaluates the official
ActivityNet expression in the official order of operations, so results are bit-identical to
it, including its edge cases (0/0 = NaN for two zero-length segments).  Limits: segments are
not validated or clipped here; the readers in ``evaluation.io`` reject reversed or non-finite
segments before they get here.
"""

import numpy as np

DEFAULT_TIOU_THRESHOLDS = "0.5:0.95:0.05"
THUMOS_TIOU_THRESHOLDS = "0.3:0.7:0.1"


def segment_tiou(pred_start, pred_end, gt_start, gt_end):
    """Temporal IoU of predictions against ground-truth segments, with numpy broadcasting.

    ``inter = max(0, min(p_e, g_e) - max(p_s, g_s))``,
    ``union = (g_e - g_s) + (p_e - p_s) - inter``, ``tIoU = inter / union``,
    all float64 and in that order (this is what makes thresholds such as 0.4999999999999999
    come out exactly like the official evaluator).  0/0 gives NaN, without a warning.
    """
    pred_start = np.asarray(pred_start, dtype=np.float64)
    pred_end = np.asarray(pred_end, dtype=np.float64)
    gt_start = np.asarray(gt_start, dtype=np.float64)
    gt_end = np.asarray(gt_end, dtype=np.float64)
    inter = np.maximum(np.minimum(pred_end, gt_end) - np.maximum(pred_start, gt_start), 0.0)
    union = (gt_end - gt_start) + (pred_end - pred_start) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / union


def parse_tiou_thresholds(spec):
    """Turn a threshold specification into a float64 array.

    Accepted forms:
      * ``"START:STOP:STEP"``, e.g. ``"0.5:0.95:0.05"`` -> ``numpy.linspace(0.5, 0.95, 10)``
        (the exact doubles the official scripts use, e.g. 0.8999999999999999); STOP - START must
        be a multiple of STEP;
      * the MATLAB order ``"START:STEP:STOP"`` (``"0.5:0.05:0.95"``) when it is unambiguous,
        i.e. STEP < START < STOP;
      * a comma list ``"0.3,0.4,0.5"`` (values taken as written: 0.4 stays 0.4);
      * a sequence of numbers.
    Every threshold must lie in (0, 1].  Raises ``ValueError`` with a one-line message.
    """
    if isinstance(spec, str):
        text = spec.strip()
        try:
            if ":" in text:
                parts = [float(p) for p in text.split(":")]
                if len(parts) != 3:
                    raise ValueError
                start, stop, step = parts
                if stop < start and step > start:  # MATLAB order start:step:stop
                    stop, step = step, stop
                if step <= 0 or stop < start:
                    raise ValueError
                intervals = (stop - start) / step
                if abs(intervals - round(intervals)) > 1e-6:
                    raise ValueError(f"bad tIoU thresholds '{spec}': STOP - START ({stop - start:g}) is not a "
                                     f"multiple of STEP ({step:g}); use START:STOP:STEP (e.g. 0.5:0.95:0.05) or a "
                                     "comma list")
                values = np.linspace(start, stop, int(round(intervals)) + 1)
            else:
                values = np.array([float(p) for p in text.split(",") if p.strip()], dtype=np.float64)
        except ValueError as exc:
            if str(exc).startswith("bad tIoU thresholds"):
                raise
            raise ValueError(f"bad tIoU thresholds '{spec}': use START:STOP:STEP (e.g. 0.5:0.95:0.05) "
                             "or a comma list (e.g. 0.3,0.4,0.5)") from None
    else:
        values = np.atleast_1d(np.asarray(spec, dtype=np.float64))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"bad tIoU thresholds '{spec}': no threshold given")
    if not np.all(np.isfinite(values)) or np.any(values <= 0) or np.any(values > 1):
        raise ValueError(f"bad tIoU thresholds '{spec}': every threshold must lie in (0, 1]")
    return values
