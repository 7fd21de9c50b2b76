"""Tests for search.trials.lifeline: a helper process ends with its parent, and Ctrl-C is its parent's.

Real processes, synchronised by pipes and signals: each wait is a bounded poll with a deadline.
"""

import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from search.trials.lifeline import CHECK_SECONDS, no_interrupt

REPO = Path(__file__).resolve().parents[3]
DEADLINE = 20 * CHECK_SECONDS  # generous: two cores shared by many processes

# A helper: once its lifeline is set, it says so, then echoes each line of stdin until stdin ends
# ("echo"), or waits forever: only its lifeline can end it ("wait").
CHILD = """
import os, sys, threading
from search.trials.lifeline import watch_parent
watch_parent(os.getppid())
print("ready", os.getpid(), flush=True)
if sys.argv[1] == "wait":
    threading.Event().wait()
for line in sys.stdin:
    print(line.strip() + "!", flush=True)
"""
# Its parent: starts a waiting helper on the same stdout (so the pipe ends only when both have ended).
PARENT = """
import subprocess, sys
subprocess.Popen([sys.executable, "-c", sys.argv[1], "wait"], stdin=subprocess.DEVNULL)
sys.stdin.read()
"""


def start(code, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env, text=True)


def read_line(process, deadline):
    """The next line the process (or its child) writes, "" at end of file, or None at the deadline."""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            return process.stdout.readline()
    return None


def stop(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_a_helper_ends_when_its_parent_is_killed():
    parent = start(PARENT, CHILD)
    line = read_line(parent, time.monotonic() + DEADLINE)
    assert line and line.startswith("ready"), line
    child = int(line.split()[1])
    try:
        parent.kill()  # SIGKILL: the parent runs no clean-up of its own
        parent.wait(timeout=DEADLINE)
        # End of file: every holder of the pipe, the orphaned helper too, has gone.
        assert read_line(parent, time.monotonic() + DEADLINE) == ""
    finally:
        stop(child)  # only when the test failed: the helper outlived its parent
        parent.stdout.close()
        parent.stdin.close()


def test_a_helper_leaves_ctrl_c_to_its_parent_and_lives_on():
    child = start(CHILD, "echo")
    try:
        deadline = time.monotonic() + DEADLINE
        assert (read_line(child, deadline) or "").startswith("ready")
        child.send_signal(signal.SIGINT)
        child.stdin.write("ping\n")
        child.stdin.flush()
        assert read_line(child, deadline) == "ping!\n"
        assert child.poll() is None
        child.stdin.close()
        assert child.wait(timeout=DEADLINE) == 0
    finally:
        stop(child.pid)
        child.stdout.close()


BLOCKED = "import signal; print(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))"


def child_blocks_sigint():
    return subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_child_started_within_no_interrupt_starts_with_ctrl_c_blocked():
    with no_interrupt():
        inside = child_blocks_sigint()
    assert (inside, child_blocks_sigint()) == ("True", "False")


def test_a_ctrl_c_within_no_interrupt_is_delivered_when_it_ends():
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's KeyboardInterrupt here")
    pending = None
    with pytest.raises(KeyboardInterrupt):
        with no_interrupt():
            # to this thread: a signal to the process may go to any thread that does not block it
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            pending = signal.SIGINT in signal.sigpending()
    assert pending is True
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_no_interrupt_blocks_nothing_outside_the_main_thread():
    seen = []

    def look():
        with no_interrupt():
            seen.append(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    assert seen == [False]
