"""Training: learning-rate schedule, in-graph batch cache, run folders, and the trainers."""
