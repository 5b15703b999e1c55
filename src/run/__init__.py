"""A run, from a checked config to its end: what main.py calls once Sacred starts.

- :mod:`run.validation`: the checks of a layered config's values, against the registries;
- :mod:`run.build`: the runner (and its env), the controller and learner, the replay buffer;
- :mod:`run.loop`: training (collect, store, learn, test, log, save) or evaluating a checkpoint;
- :mod:`run.state`: what a checkpoint holds, how a run is saved, checked for a resume and restored.
"""
