"""Optuna journal files: one JSON record a line, appended under a lock.

A crash or a full disk during a write leaves a torn last record, with no
newline: Optuna's next write would append to it, and the file could no
longer be read. The torn tail is dropped (and said so) before the journal is
opened; a file that is not a journal at all is refused in one line.
"""

import json
import sys
from pathlib import Path


def problem(path):
    """Why ``path`` cannot be an Optuna journal, or None (a missing file is a new journal); reads only."""
    path = Path(path)
    if path.is_dir():
        return f"{path} is a folder, not a journal file"
    if not path.exists():
        return None
    with open(path, "rb") as file:
        for number, line in enumerate(file, 1):
            if not line.endswith(b"\n"):
                return None  # a torn last record: dropped when the journal is opened
            if not _is_record(line):
                return (f"{path} line {number} is not an Optuna journal record "
                        f"(not a journal file, or damaged there)")
    return None


def _is_record(line):
    try:
        record = json.loads(line)
    except ValueError:  # not JSON, not UTF-8
        return False
    return isinstance(record, dict) and "op_code" in record


def drop_torn_tail(path, lock):
    """Cut the journal at ``path`` after its last whole record, under Optuna's own lock ``lock``.

    Returns the number of bytes dropped (0 for a sound or missing file).
    """
    path = Path(path)
    if not path.is_file():
        return 0
    lock.acquire()  # a writer holds it while it appends: a line being written is never cut
    try:
        with open(path, "rb+") as file:
            data = file.read()
            keep = data.rfind(b"\n") + 1
            if keep == len(data):
                return 0
            file.truncate(keep)
    finally:
        lock.release()
    dropped = len(data) - keep
    print(f"warning: {path}: dropped a partial last record ({dropped} bytes), left by a write that "
          "was interrupted; the trial it belonged to is recovered as any stopped trial", file=sys.stderr)
    return dropped
