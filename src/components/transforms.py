"""Transforms that derive episode-batch fields from others on write."""

import torch


class OneHot:
    """Integer actions ``[..., 1]`` to one-hot ``[..., out_dim]``."""

    def __init__(self, out_dim):
        self.out_dim = out_dim

    def transform(self, tensor):
        one_hot = tensor.new_zeros(*tensor.shape[:-1], self.out_dim, dtype=torch.float32)
        return one_hot.scatter_(-1, tensor.long(), 1.0)

    def infer_output_info(self, vshape_in, dtype_in):
        return (self.out_dim,), torch.float32
