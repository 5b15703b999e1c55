"""The console progress: its numbers, the live line on a terminal, plain lines elsewhere."""

import io
import logging
import sys

from utils.logging import Logger
from utils.progress import ERASE_LINE, ProgressReporter, terminal_stream


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def quiet_logger():
    """A fresh logger that keeps its messages in ``handlers[0].messages``."""
    quiet_logger.count += 1
    logger = logging.getLogger(f"progress_test_{quiet_logger.count}")
    logger.propagate = False
    logger.handlers = [ListHandler()]
    logger.setLevel(logging.INFO)
    return logger


quiet_logger.count = 0


def stats_logger():
    logger = Logger(quiet_logger())
    logger.log_stat("return_mean", 1.5, 400)
    logger.log_stat("test_battle_won_mean", 0.25, 400)
    return logger


def test_numbers_count_speed_and_eta_from_the_start_step():
    clock = Clock()
    progress = ProgressReporter(t_max=1000, t_start=200, console_logger=quiet_logger(), clock=clock)
    clock.now = 3.0
    numbers = progress.numbers(500, stats_logger())
    assert numbers["steps_per_s"] == 100.0 and numbers["eta_s"] == 5.0 and numbers["fraction"] == 0.5
    text = ProgressReporter.describe(numbers)
    assert text == "t_env 500/1000 (50%) | 100 steps/s | ETA 0:00:05 | return 1.50 | test win rate 0.25"

    fresh = ProgressReporter(t_max=1000, t_start=0, console_logger=quiet_logger(), clock=Clock())
    numbers = fresh.numbers(0, Logger(quiet_logger()))
    assert ProgressReporter.describe(numbers).endswith("| 0 steps/s | ETA ? | return - | test win rate -")


def test_plain_line_is_logged_without_terminal_codes():
    console = quiet_logger()
    clock = Clock()
    progress = ProgressReporter(t_max=1000, t_start=0, console_logger=console, clock=clock)
    clock.now = 2.0
    progress.log_line(400, stats_logger())
    progress.update(400, stats_logger())  # no terminal: nothing drawn
    progress.close()
    (message,) = console.handlers[0].messages
    assert message.startswith("t_env 400/1000 (40%) | 200 steps/s | ETA 0:00:03") and "\x1b" not in message


def test_live_line_is_redrawn_around_other_output(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich crops the line to the terminal's width
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    clock = Clock()
    progress = ProgressReporter(t_max=1000, t_start=0, console_logger=quiet_logger(), live_stream=terminal,
                                clock=clock)
    clock.now = 1.0
    progress.update(250, stats_logger())
    first_draw = terminal.getvalue()
    assert "t_env 250/1000 (25%)" in first_draw and "250 steps/s" in first_draw and "ETA 0:00:03" in first_draw
    assert "return 1.50" in first_draw and "test win rate 0.25" in first_draw and "\n" not in first_draw

    print("a log line")  # other output: erase the live line, write, then draw it again below
    assert terminal.getvalue() == first_draw + ERASE_LINE + "a log line\n" + first_draw

    progress.close()
    assert terminal.getvalue().endswith(first_draw + ERASE_LINE)
    assert sys.stdout is terminal  # given back


def test_live_line_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "__stdout__", io.StringIO())
    assert terminal_stream(True) is None
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "__stdout__", terminal)
    assert terminal_stream(True) is terminal
    assert terminal_stream(False) is None
