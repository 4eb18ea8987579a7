"""The ``sidebyside`` command: ``cli.main`` assembles every command group into one app."""
