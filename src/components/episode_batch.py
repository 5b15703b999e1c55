"""Scheme-driven storage of whole episodes.

A *scheme* declares each field once: ``{"obs": {"vshape": obs_shape, "group": "agents"},
"actions": {"vshape": (1,), "group": "agents", "dtype": torch.long}, ...}``. A field with a
``group`` gets that group's size as a dimension after time, so every tensor is
``[batch, time, (agents,) *vshape]``. *Preprocess* derives fields on write
(``actions -> actions_onehot``). ``filled`` marks the time steps an episode really has.
"""

import torch

from components.transforms import OneHot


def build_scheme(env_info):
    """The scheme, groups and preprocess of an env's episodes, from its ``get_env_info()``."""
    scheme = {
        "state": {"vshape": env_info["state_shape"]},
        "obs": {"vshape": env_info["obs_shape"], "group": "agents"},
        "actions": {"vshape": (1,), "group": "agents", "dtype": torch.long},
        "avail_actions": {"vshape": (env_info["n_actions"],), "group": "agents", "dtype": torch.int},
        "reward": {"vshape": (1,)},
        "terminated": {"vshape": (1,), "dtype": torch.uint8},
    }
    groups = {"agents": env_info["n_agents"]}
    preprocess = {"actions": ("actions_onehot", [OneHot(out_dim=env_info["n_actions"])])}
    return scheme, groups, preprocess


class EpisodeBatch:
    """A batch of episodes, each ``max_seq_length`` steps long, stored as tensors."""

    def __init__(self, scheme, groups, batch_size, max_seq_length, preprocess=None, device="cpu", data=None):
        self.scheme = dict(scheme)
        self.groups = groups
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.preprocess = preprocess or {}
        self.device = device
        if data is not None:
            self.data = data
        else:
            self._expand_scheme_with_preprocess()
            self.data = {key: self._empty(key) for key in self.scheme}

    def _expand_scheme_with_preprocess(self):
        for source, (target, transforms) in self.preprocess.items():
            vshape, dtype = self.scheme[source]["vshape"], self.scheme[source].get("dtype", torch.float32)
            for transform in transforms:
                vshape, dtype = transform.infer_output_info(vshape, dtype)
            self.scheme[target] = {"vshape": vshape, "dtype": dtype}
            if "group" in self.scheme[source]:
                self.scheme[target]["group"] = self.scheme[source]["group"]
        self.scheme["filled"] = {"vshape": (1,), "dtype": torch.long}

    def _empty(self, key):
        field = self.scheme[key]
        vshape = field["vshape"]
        vshape = (vshape,) if isinstance(vshape, int) else tuple(vshape)
        group_shape = (self.groups[field["group"]],) if "group" in field else ()
        shape = (self.batch_size, self.max_seq_length, *group_shape, *vshape)
        return torch.zeros(shape, dtype=field.get("dtype", torch.float32), device=self.device)

    def to(self, device):
        for key in self.data:
            self.data[key] = self.data[key].to(device)
        self.device = device
        return self

    def update(self, data, bs=slice(None), ts=slice(None), mark_filled=True):
        """Write ``data`` (field -> array-like) at episodes ``bs`` and time steps ``ts``."""
        for key, value in data.items():
            if key not in self.data:
                raise KeyError(f"'{key}' is not a field of this episode batch")
            target = self.data[key]
            value = torch.as_tensor(value, dtype=target.dtype, device=self.device)
            target[bs, ts] = value.view_as(target[bs, ts])
            if mark_filled:
                self.data["filled"][bs, ts] = 1
                mark_filled = False
            if key in self.preprocess:
                derived, transforms = self.preprocess[key]
                for transform in transforms:
                    value = transform.transform(value)
                self.data[derived][bs, ts] = value.view_as(self.data[derived][bs, ts])

    def __getitem__(self, item):
        """A field by name, or a view of the episodes ``item`` (index, slice, list or tensor),
        or ``(episodes, time)`` for a view cut in time as well."""
        if isinstance(item, str):
            return self.data[item]
        if isinstance(item, tuple):
            episodes, time = item
        else:
            episodes, time = item, slice(None)
        if isinstance(episodes, int):
            episodes = slice(episodes, episodes + 1)
        data = {key: value[:, time][episodes] for key, value in self.data.items()}  # copies only the steps kept
        batch_size = next(iter(data.values())).shape[0]
        max_t = next(iter(data.values())).shape[1]
        return EpisodeBatch(self.scheme, self.groups, batch_size, max_t, self.preprocess, self.device, data)

    def __contains__(self, key):
        return key in self.data

    def max_t_filled(self):
        """The number of time steps of the longest episode in the batch."""
        return int(self.data["filled"].sum(dim=1).max().item())

    def __repr__(self):
        return f"EpisodeBatch(batch_size={self.batch_size}, max_seq_length={self.max_seq_length}, keys={list(self.data)})"
