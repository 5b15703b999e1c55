"""Check that docs/results.md's tables are what their commands print today.

Every ``results_table.py`` command in the document that reads the archived records
(``docs/runs/``) is run again, in the repository root, and each row of the tables that follow
it (up to the next command, figure or heading) must be a row of its output. Shell variables
the document defines for a command (``G='--group ...'``, used as ``eval python ... $G``) are
expanded. Rows marked ``earlier:`` (copied from another section's table) are not checked, nor
are the tables after a ``<!-- not regenerated: REASON -->`` line (tables assembled by hand,
say from two outputs or from training stats, or printed before their records grew). Commands
over records outside ``docs/runs/`` (earlier sessions' ``results/sacred/``, gone with their
machines) are skipped.

    python benchmarks/check_results_doc.py [docs/results.md]

Prints each table that differs, with the first differing rows, and exits 1 if any does.
"""

import argparse
import contextlib
import io
import os
import re
import shlex
import sys

import results_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMAND = re.compile(r"^\s*(eval )?python benchmarks/results_table\.py")
VARIABLE = re.compile(r"^\s*(\w+)='(.*)$")
NOT_REGENERATED = "<!-- not regenerated:"


class CommandFailed(Exception):
    pass


def table_output(arguments):
    """What ``results_table.py arguments`` prints, as a list of lines; CommandFailed with its
    error if it stops with one (a glob that matches no record, a bad option)."""
    printed, errors = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["results_table.py", *arguments]
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):
            results_table.main()
    except SystemExit as stop:
        message = " ".join((errors.getvalue() + str(stop.code or "")).split())
        raise CommandFailed(message[-300:]) from None
    finally:
        sys.argv = argv
    return printed.getvalue().splitlines()


def read_variable(lines, index):
    """``(name, value, next index)`` of a ``NAME='...'`` definition that may span lines."""
    name, first = VARIABLE.match(lines[index]).groups()
    parts = [first]
    while not parts[-1].rstrip().endswith("'"):
        index += 1
        parts.append(lines[index].strip())
    return name, " ".join(parts).rstrip().rstrip("'"), index + 1


def read_command(lines, index, variables):
    """``(arguments of results_table.py, next index)`` of a command that may continue over lines."""
    parts = [lines[index].strip()]
    while parts[-1].endswith("\\"):
        parts[-1] = parts[-1][:-1]
        index += 1
        parts.append(lines[index].strip())
    words = re.sub(r"\$(\w+)", lambda match: variables.get(match.group(1), match.group(0)), " ".join(parts))
    arguments = shlex.split(words)
    return arguments[arguments.index("benchmarks/results_table.py") + 1:], index + 1


def tables_after(lines, index):
    """``(rows of the tables that follow, next index)``, up to the next command, figure or heading,
    without those after a not-regenerated mark."""
    rows, marked = [], False
    while index < len(lines):
        line = lines[index]
        if COMMAND.match(line) or VARIABLE.match(line) or line.startswith(("#", "![", "    python")):
            break
        marked = marked or line.startswith(NOT_REGENERATED)
        if not marked and line.startswith("|") and not line.startswith(("|---", "| earlier:")):
            rows.append(line)
        index += 1
    return rows, index


def check(path):
    """``(commands checked, [(line number, differing rows, output)])`` of the document at ``path``."""
    with open(path) as stream:
        lines = stream.read().splitlines()
    variables, problems, checked, index = {}, [], 0, 0
    while index < len(lines):
        if VARIABLE.match(lines[index]):
            name, value, index = read_variable(lines, index)
            variables[name] = value
            continue
        if not COMMAND.match(lines[index]):
            index += 1
            continue
        start, outputs = index + 1, []
        while index < len(lines) and COMMAND.match(lines[index]):  # commands printed one after another
            arguments, index = read_command(lines, index, variables)
            outputs.append(arguments)
        rows, index = tables_after(lines, index)
        if not rows or any("docs/runs/" not in " ".join(arguments) for arguments in outputs):
            continue
        checked += 1
        try:
            printed = [line for arguments in outputs for line in table_output(arguments)]
        except CommandFailed as error:
            problems.append((start, [f"(the command failed: {error})"], []))
            continue
        differing = [row for row in rows if row not in printed]
        if differing:
            problems.append((start, differing, printed))
    return checked, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("document", nargs="?", default=os.path.join(ROOT, "docs", "results.md"))
    options = parser.parse_args()
    os.chdir(ROOT)  # the commands' globs are relative to the repository root
    checked, problems = check(options.document)
    for line_number, differing, printed in problems:
        print(f"{options.document}:{line_number}: {len(differing)} row(s) differ from the command's output")
        for row in differing[:3]:
            label = row.split(" | ")[0]
            print(f"  document: {row}")
            print(f"  command:  {next((line for line in printed if line.split(' | ')[0] == label), '(no such row)')}")
    print(f"{checked} commands checked, {len(problems)} with tables that differ")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
