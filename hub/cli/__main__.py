"""``python -m hub.cli``: the ``hub`` command, as the tests and ``hub bench`` run it."""

from hub.cli import app

app(prog_name="hub")
