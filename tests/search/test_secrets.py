"""Tests for search.secrets: no password survives in any text that holds a URL."""

import io
import logging
import sys

import pytest
from sqlalchemy.engine import make_url

from search import secrets

PASSWORDS = ["plain-pw", "p#ss", "a/b/c", "what?now", "x#y/z?w&v=1", "col:on"]


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("template", [
    "postgresql://user:{pw}@db.example:5432/optuna",
    "postgresql+psycopg://user:{pw}@db.example/optuna?sslmode=require",
    "http://user:{pw}@tracking.example:5000",
    "https://:{pw}@tracking.example/path",
])
def test_a_password_is_masked_inside_any_sentence(template, password):
    url = template.format(pw=password)
    if url.startswith("postgresql"):
        assert make_url(url).password == password  # the engine reads it so: it is a password
    text = f"error: MLflow tracking at {url} is not reachable: ('{url}', 'line two')"
    masked = secrets.mask(text)
    assert password not in masked
    assert "user:***@" in masked or ":***@" in masked
    assert masked.startswith("error: MLflow tracking at ")


def test_text_without_credentials_is_unchanged():
    text = "http://127.0.0.1:5000/#/experiments/1 and sqlite:///a/b.db, mail me@example.org, x:y"
    assert secrets.mask(text) == text


def test_a_remembered_password_is_masked_also_outside_a_url(monkeypatch):
    monkeypatch.setattr(secrets, "_remembered", set())
    secrets.remember("postgresql://u:s%23cret-pw@db/x")
    masked = secrets.mask("driver said: bad password 's#cret-pw' (raw s%23cret-pw)")
    assert "s#cret-pw" not in masked and "s%23cret-pw" not in masked


def test_installed_masking_covers_print_logging_and_tracebacks(monkeypatch):
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(logging, "_logRecordFactory", logging.LogRecord)  # restored after the test
    logger = logging.getLogger("test_secrets")
    handler = logging.StreamHandler(err)  # made before install(), as MLflow's and Optuna's are
    logger.addHandler(handler)
    try:
        secrets.install()
        url = "http://u:t0p#secret@host:1"
        print(f"🏃 View run x at: {url}/#/experiments/1")
        try:
            raise ConnectionError(f"cannot reach {url}")
        except ConnectionError:
            logger.exception("lost %s", url)
    finally:
        logger.removeHandler(handler)
    assert "t0p#secret" not in out.getvalue() + err.getvalue()
    assert "u:***@host" in out.getvalue() and "u:***@host" in err.getvalue()
