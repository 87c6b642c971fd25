"""What the hub does, as services that take an open :class:`~hub.runtime.Hub`.

The CLI, the scheduler and the HTTP API are thin adapters over these: they parse, call and
present. One module per noun of the ``hub`` command: ``setup`` (init), ``connections``,
``secrets``, ``syncing``, ``quarantine``, ``customers``, ``cases`` (write-back),
``sandboxes``.
"""
