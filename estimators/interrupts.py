"""What Ctrl-C does during ``fit``: sklearn's warn-and-return, or propagate.

sklearn catches ``KeyboardInterrupt`` in its training loop, warns "Training
interrupted by user." and returns the partly trained model; the estimators
do the same. A service that must stop at once (the search service fails and
re-queues the running trial on Ctrl-C or SIGTERM) trains inside
:func:`propagate_interrupts`, where the interrupt goes on up as before.
"""

import contextlib
import contextvars

_PROPAGATE = contextvars.ContextVar("propagate_interrupts", default=False)


@contextlib.contextmanager
def propagate_interrupts():
    """Within it, ``KeyboardInterrupt`` during ``fit`` is not caught but raised.

    Examples
    --------
    >>> from estimators import propagate_interrupts
    >>> with propagate_interrupts():
    ...     pass  # model.fit(X, y) here stops the caller on Ctrl-C
    """
    token = _PROPAGATE.set(True)
    try:
        yield
    finally:
        _PROPAGATE.reset(token)


def interrupts_propagate():
    """True inside :func:`propagate_interrupts`."""
    return _PROPAGATE.get()
