"""Baselines that are not AherNet itself (random references here; SAL and the paper's rows later)."""
