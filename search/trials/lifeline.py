"""Helper processes end with the process that started them, even when it was killed with SIGKILL.

A SIGKILLed parent runs no clean-up: its figure process would go on (hundreds
of MB), and multiprocessing's resource tracker with it, since the tracker
ends only when every holder of its pipe has gone.
"""

import os
import signal
import threading
import time
from contextlib import contextmanager

CHECK_SECONDS = 1.0


def watch_parent(parent_pid):
    """In a child process: exit as soon as ``parent_pid`` is no longer this process's parent.

    A ``ProcessPoolExecutor`` initializer. A thread reads ``getppid`` (the
    kernel reparents an orphan), which works for any start method, unlike
    ``prctl(PR_SET_PDEATHSIG)``, which fires when the creating *thread* ends.
    Ctrl-C reaches the whole process group: the helper leaves it to its parent
    (which stops it), instead of printing a traceback of its own.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # discards one that arrived while blocked (no_interrupt)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    def watch():
        while os.getppid() == parent_pid:
            time.sleep(CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


@contextmanager
def no_interrupt():
    """SIGINT blocked in this thread meanwhile: a child started within inherits the block (across exec).

    Ctrl-C reaches the whole process group; a helper still importing its
    modules would die with a traceback before :func:`watch_parent` could
    tell it to leave Ctrl-C to its parent. A Ctrl-C that arrives meanwhile
    is delivered here when the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
