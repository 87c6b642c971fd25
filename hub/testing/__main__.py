"""``python -m hub.testing ...``: the hub CLI with the memory connector registered, so tests
can run the real command in a subprocess against a source that needs no network."""

from __future__ import annotations

from hub.cli import app
from hub.plugins import register_plugin
from hub.testing import memory


def main() -> None:
    """Register the memory connector (not an entry point) and run the ``hub`` command."""
    register_plugin(memory, name="hub-testing-memory")
    app(prog_name="hub")


if __name__ == "__main__":
    main()
