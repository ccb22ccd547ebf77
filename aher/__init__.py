"""aher: a TensorFlow reproduction of AherNet (ECCV 2020) and of the SAL baseline.

Package layout (one concept per module):
  aher.data      annotation readers, feature store, input pipelines, synthetic benchmark
  aher.paths     where the project finds ../shared and its own folders
  aher.cli       small helpers shared by the command-line entry points
The evaluation toolkit lives in the top-level package ``evaluation``.
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) hides our own output; keep warnings
# and errors only unless the user asked for something else.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
