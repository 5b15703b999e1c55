"""Sparse training of any agent and mixer, switched on by the ``sparse`` block of the YAML.

- :mod:`sparse.masks`: which weights are masked and their initial masks;
- :mod:`sparse.distributions`: how the overall sparsity is shared out across layers;
- :mod:`sparse.topology`: when and how the masks evolve (static, SET, RigL);
- :mod:`sparse.flops`: dense and sparse FLOPs and their ratios;
- :mod:`sparse.trainer`: :class:`SparseTrainer`, which owns the masks and is called by the learner.
"""

from sparse.trainer import SparseTrainer

__all__ = ["SparseTrainer"]
