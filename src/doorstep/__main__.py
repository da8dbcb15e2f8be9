"""``python -m doorstep`` runs the CLI."""

from doorstep.cli import main

main()
