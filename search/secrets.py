"""Credentials never leave the process: masking of any text that holds a URL with a password.

A URL is found the way SQLAlchemy's ``make_url`` reads one: after
``scheme://``, the user name runs to the first ``:`` and the password to the
first ``@``, so a password may hold ``#``, ``/`` or ``?`` (``urlsplit`` would
cut it there and miss it). Passwords of the URLs given to the service are
also remembered, raw and percent-decoded, and masked wherever they appear
(a driver's error message may quote the decoded form without its URL).

:func:`install` wraps ``sys.stdout``, ``sys.stderr`` and every log record, so
that what the service, MLflow, Optuna and Python's tracebacks print is
masked; what is stored (Optuna attributes, MLflow tags) goes through
:func:`mask` where it is written.
"""

import logging
import re
import sys
from urllib.parse import quote, unquote

MASK = "***"
# scheme://user:password@ -- user without ':', '/', '@'; password up to the first '@'.
URL_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):(?P<password>[^@\s]*)@")
MIN_REMEMBERED = 4  # a shorter password is masked in URLs only, not as a bare word everywhere

_remembered = set()


def password_of(url):
    """The password of ``url`` as written, or None; never raises."""
    if not url:
        return None
    match = URL_CREDENTIALS.search(str(url))
    return match.group("password") if match and match.group("password") else None


def remember(url):
    """Mask the password of ``url`` (raw, decoded and encoded) wherever it appears from now on."""
    password = password_of(url)
    if password:
        for form in {password, unquote(password), quote(unquote(password), safe="")}:
            if len(form) >= MIN_REMEMBERED:
                _remembered.add(form)
    return url


def mask(text):
    """``text`` with every URL's password, and every remembered password, replaced by ``***``."""
    if text is None:
        return None
    text = URL_CREDENTIALS.sub(lambda m: f"{m.group('head')}:{MASK}@", str(text))
    for secret in sorted(_remembered, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def reason(error, limit=200):
    """An exception as one masked line: its first line, else its type."""
    text = str(error).strip()
    return mask(text.splitlines()[0][:limit] if text else type(error).__name__)


class MaskingStream:
    """A text stream that masks what is written to it; everything else is the wrapped stream's."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        return self._stream.write(mask(text))

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _MaskingRecordFactory:
    """Log records whose message is masked (tracebacks too) before any handler formats them."""

    def __init__(self, factory):
        self.factory = factory

    def __call__(self, *args, **kwargs):
        record = self.factory(*args, **kwargs)
        try:
            record.msg, record.args = mask(record.getMessage()), ()
        except Exception:  # a malformed record is logging's to report, not ours
            pass
        return record


def install():
    """Mask ``sys.stdout``, ``sys.stderr`` and log records in this process (idempotent)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, MaskingStream):
            setattr(sys, name, MaskingStream(stream))
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _MaskingRecordFactory):
        logging.setLogRecordFactory(_MaskingRecordFactory(factory))
    # Handlers made before now hold the original streams; exception text is formatted there.
    for logger in [logging.getLogger()] + [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)]:
        for handler in getattr(logger, "handlers", ()):
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler.stream, MaskingStream):
                handler.setStream(MaskingStream(handler.stream))
