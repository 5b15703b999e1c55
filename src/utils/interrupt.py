"""Stopping a training run cleanly on Ctrl-C (SIGINT) or SIGTERM.

While :class:`StopSignals` is active, the first SIGINT or SIGTERM only sets ``requested``:
the training loop finishes its iteration, saves a final checkpoint and raises
:class:`TrainingInterrupted`, which Sacred records as INTERRUPTED. A second signal stops at
once (``KeyboardInterrupt``); checkpoints are written atomically, so what was saved stays whole.
"""

import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on a signal after its final checkpoint; ``signum`` names the signal."""

    def __init__(self, signum, message):
        super().__init__(message)
        self.signum = signum


class StopSignals:
    """Context manager: SIGINT and SIGTERM request a stop instead of killing the process."""

    def __init__(self):
        self.requested = None  # the signal number once one arrived
        self._previous = {}

    def _handle(self, signum, frame):
        if self.requested is not None:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: stopping at once")
        self.requested = signum

    def __enter__(self):
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        return False
