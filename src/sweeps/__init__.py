"""Sweeps of ordinary runs over a grid of settings, on Ray (src/sweep.py)."""
