"""Commands — one module per ``vigil`` subcommand (:mod:`~pipeline.commands.cli` dispatches).

Each has ``HELP``, ``arguments(parser)`` and ``main(args) -> int`` and imports the work it
runs inside ``main``. Commands are the top of the house: they may import any stage; no stage
imports them.
"""
