"""``python -m ragward`` runs the CLI."""

from ragward.cli import main

main()
