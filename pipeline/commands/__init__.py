"""One module per ``vigil`` subcommand (:mod:`pipeline.commands.cli` dispatches)."""
