"""Flower's ClientApp entry point (named in pyproject.toml); the bodies live in `fl.client`.

`RUNTIMES` is the one object that lives as long as the worker process: the
worker runtime of the run being served (device, opened sources, shards, the
reusable model), built at the first call of a run and passed to every call.
Flower gives a ClientApp no other per-process place to keep it.
"""

from __future__ import annotations

from flwr.app import Context, Message
from flwr.clientapp import ClientApp

from .fl import client
from .fl.runtime import RuntimeHolder

app = ClientApp()
RUNTIMES = RuntimeHolder()


@app.query()
def describe(msg: Message, context: Context) -> Message:
    return client.describe(msg, context)


@app.train()
def train(msg: Message, context: Context) -> Message:
    return client.train(RUNTIMES, msg, context)
