"""Shared test setup: the framework's modules live in src/ (run like PyMARL: python src/main.py)."""

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(REPO_ROOT, "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

# Envs built directly in tests share the compilation cache that runs use (smax.yaml's env_args.jax_cache_dir).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.expanduser("~/.cache/mast/jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")


def pytest_configure(config):
    config.addinivalue_line("markers", "cluster: starts a two-node Ray cluster on 127.0.0.1 (CI runs it too)")
    config.addinivalue_line("markers", "slow: starts src/main.py or src/sweep.py (a subprocess, or a training run in "
                            "this process) or a MongoDB server outage, seconds to minutes each; "
                            "-m 'not slow' skips them in the inner loop, CI runs them")
