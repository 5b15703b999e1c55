"""Console progress of a training run: env steps / t_max, env steps per second, ETA, the
last training return and the last test win rate.

On a terminal (``progress_bar: True`` and stdout a TTY) a live line is redrawn in place
below the log, drawn with rich; while it is shown, other output to stdout and stderr first
erases it and redraws it once a line is complete, so log lines stay whole. The same
numbers are logged as one plain line every ``log_interval`` env steps, which is all that
appears when stdout is not a terminal (CI, a file, Sacred's captured output).
"""

import sys
import time

from rich.console import Console
from rich.text import Text

ERASE_LINE = "\r\x1b[2K"
BAR_WIDTH = 16


def terminal_stream(enabled):
    """The terminal to draw a live line on: the process's own stdout when it is a TTY."""
    stream = sys.__stdout__
    return stream if enabled and stream is not None and stream.isatty() else None


def format_duration(seconds):
    """``h:mm:ss``."""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class _StreamAroundLine:
    """Stands in for ``sys.stdout``/``sys.stderr`` while a :class:`LiveLine` is shown."""

    def __init__(self, wrapped, line):
        self._wrapped = wrapped
        self._line = line

    def write(self, text):
        self._line.erase()
        written = self._wrapped.write(text)
        self._wrapped.flush()
        if text.endswith("\n"):
            self._line.redraw()
        return written

    def flush(self):
        self._wrapped.flush()

    def __getattr__(self, name):
        return getattr(self._wrapped, name)


class LiveLine:
    """One line redrawn in place at the bottom of a terminal ``stream``."""

    def __init__(self, stream):
        self.stream = stream
        self.console = Console(file=stream, force_terminal=True, highlight=False)
        self.content = None
        self.visible = False
        self._saved_streams = (sys.stdout, sys.stderr)
        sys.stdout = _StreamAroundLine(sys.stdout, self)
        sys.stderr = _StreamAroundLine(sys.stderr, self)

    def show(self, content):
        """Replace the line with ``content`` (a rich Text)."""
        self.content = content
        self.erase()
        self.redraw()

    def erase(self):
        if self.visible:
            self.stream.write(ERASE_LINE)
            self.stream.flush()
            self.visible = False

    def redraw(self):
        if self.content is not None and not self.visible:
            self.console.print(self.content, end="", no_wrap=True, overflow="ellipsis", crop=True)
            self.stream.flush()
            self.visible = True

    def close(self):
        """Erase the line and give stdout and stderr back."""
        self.erase()
        sys.stdout, sys.stderr = self._saved_streams


class ProgressReporter:
    """Measures and shows how far a run has come.

    ``t_start`` is the env step this process started training from (0, or the step of a
    resumed checkpoint); speed and ETA count from there.
    """

    def __init__(self, t_max, t_start, console_logger, live_stream=None, clock=time.monotonic):
        self.t_max = t_max
        self.t_start = t_start
        self.console_logger = console_logger
        self.clock = clock
        self.start_time = clock()
        self.live = LiveLine(live_stream) if live_stream is not None else None

    def numbers(self, t_env, logger):
        """Progress as a dict: t_env, t_max, fraction, steps_per_s, eta_s (None until known),
        last_return, last_test_win_rate (None until logged)."""
        elapsed = self.clock() - self.start_time
        rate = (t_env - self.t_start) / elapsed if elapsed > 0 else 0.0
        return {
            "t_env": t_env,
            "t_max": self.t_max,
            "fraction": min(t_env / self.t_max, 1.0),
            "steps_per_s": rate,
            "eta_s": max(self.t_max - t_env, 0) / rate if rate > 0 else None,
            "last_return": logger.latest("return_mean"),
            "last_test_win_rate": logger.latest("test_battle_won_mean"),
        }

    @staticmethod
    def describe(numbers):
        eta = "?" if numbers["eta_s"] is None else format_duration(numbers["eta_s"])
        last_return = "-" if numbers["last_return"] is None else f"{numbers['last_return']:.2f}"
        win_rate = "-" if numbers["last_test_win_rate"] is None else f"{numbers['last_test_win_rate']:.2f}"
        return (f"t_env {numbers['t_env']}/{numbers['t_max']} ({100 * numbers['fraction']:.0f}%) | "
                f"{numbers['steps_per_s']:.0f} steps/s | ETA {eta} | return {last_return} | "
                f"test win rate {win_rate}")

    def update(self, t_env, logger):
        """Redraw the live line (no-op without a terminal)."""
        if self.live is not None:
            numbers = self.numbers(t_env, logger)
            done = int(round(BAR_WIDTH * numbers["fraction"]))
            self.live.show(Text.assemble(
                ("━" * done, "magenta"), ("━" * (BAR_WIDTH - done), "grey37"), " ", self.describe(numbers)
            ))

    def log_line(self, t_env, logger):
        """Log the progress as one plain line."""
        self.console_logger.info(self.describe(self.numbers(t_env, logger)))

    def close(self):
        if self.live is not None:
            self.live.close()
