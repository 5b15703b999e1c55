"""One grid point as a Ray task: src/main.py in a subprocess, its output in a log file.

A subprocess keeps each run what it is from the command line (its own JAX, torch threads and
Sacred state), whichever Ray worker it lands on. Cancelling the task (Ctrl-C on the sweep)
sends the run SIGINT, so it stops as a run does on Ctrl-C: a final checkpoint, a record
marked INTERRUPTED, resumable by the next launch of the sweep.
"""

import os
import signal
import subprocess

STOP_WAIT_S = 300  # how long a cancelled run may take to write its final checkpoint
COMPLETE_CODES = (0, 3)  # main.py's exit codes of a completed run (3: its MongoDB record is incomplete)


def last_error_line(log_path):
    """The last line of a run's log that says ``error:`` (or its last line), for the summary."""
    try:
        with open(log_path) as stream:
            lines = [line.strip() for line in stream if line.strip()]
    except OSError:
        return ""
    errors = [line for line in lines if "error:" in line]
    return (errors or lines or [""])[-1]


def _unblock_sigint():
    """Ray starts its workers with SIGINT blocked, and a child inherits the block: undo it, so
    that the run can be stopped as Ctrl-C stops it."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def run_point(command, cwd, log_path):
    """Run ``command`` (a main.py command line) in ``cwd``; returns ``(exit code, error line)``."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "a") as log:
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=_unblock_sigint)
        try:
            while True:  # short waits, so that a cancellation's KeyboardInterrupt is handled promptly
                try:
                    code = process.wait(timeout=1)
                    break
                except subprocess.TimeoutExpired:
                    continue
        except KeyboardInterrupt:  # the sweep was stopped: stop the run as Ctrl-C would
            process.send_signal(signal.SIGINT)
            try:
                code = process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
    return code, "" if code in COMPLETE_CODES else last_error_line(log_path)
