"""The private key stays out of every log, at every level.

The review found it in DEBUG logs: kubernetes_asyncio's ``client.rest``
logger writes each response body, and the Secret's ``ssh.priv`` is base64
there (so a search for "PRIVATE KEY" misses it). Here the root logger is at
DEBUG and a handler keeps every record's message while a first launch
creates the Secret and a second one reads it, against the loopback
Kubernetes API stand-in.
"""

from __future__ import annotations

import base64
import logging

import pytest

from fakes.standins import RawFileServer
from offline.hub_setup import cerit_api, cerit_config, github

SECRET = ("binderhub", "alice-ssh-key")


class _Everything(logging.Handler):
    """Keeps every record's message, with every logger opened up to DEBUG."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self.levels: set[int] = set()
        self._saved: list[tuple[logging.Logger, int, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.levels.add(record.levelno)

    def open_all(self) -> None:
        """Root and every logger at DEBUG, none disabled, this handler on the
        root. Called after the hub app is made: its logging setup resets the
        root's level and handlers."""
        if self not in logging.getLogger().handlers:
            logging.getLogger().addHandler(self)
        loggers = [logging.getLogger()] + [
            lg
            for lg in logging.Logger.manager.loggerDict.values()
            if isinstance(lg, logging.Logger)
        ]
        for logger in loggers:
            self._saved.append((logger, logger.level, logger.disabled))
            logger.setLevel(logging.DEBUG)
            logger.disabled = False

    def restore(self) -> None:
        for logger, level, disabled in reversed(self._saved):
            logger.setLevel(level)
            logger.disabled = disabled


@pytest.fixture
def all_logs():
    root = logging.getLogger()
    handler = _Everything()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    handler.restore()


def forms_of(private: bytes) -> list[str]:
    """The key, its base64 and the base64 of each of its lines, and pieces of
    its base64 long enough to mean something (a log could cut the body)."""
    encoded = base64.b64encode(private).decode()
    lines = [line for line in private.split(b"\n") if line]
    forms = [private.decode(), encoded]
    forms += [line.decode() for line in lines]
    for line in lines:
        forms += [
            base64.b64encode(line).decode(),
            base64.b64encode(line + b"\n").decode(),
        ]
    forms += [encoded[i : i + 24] for i in range(0, len(encoded) - 24, 4)]
    return forms


async def test_private_key_is_in_no_log_record_when_created_or_read(
    make_spawner, all_logs
):
    with cerit_api() as kube, RawFileServer() as raw:
        config = cerit_config(raw.url, kube.url)

        async def launch(server: str) -> None:
            spawner = make_spawner(config, server=server)
            spawner.user_options = github("owner", "repo")
            all_logs.open_all()
            await spawner.run_pre_spawn_hook()

        await launch("first")  # creates the Secret
        await launch("second")  # reads it
        assert [m for m, _ in kube.calls() if "secrets" in _] == ["GET", "POST", "GET"]
        private = base64.b64decode(kube.get("secrets", *SECRET)["data"]["ssh.priv"])
    assert logging.DEBUG in all_logs.levels, "DEBUG records were not captured"
    text = "\n".join(all_logs.messages)
    leaked = [form for form in forms_of(private) if form in text]
    assert leaked == [], f"{len(leaked)} forms of the private key were logged"
