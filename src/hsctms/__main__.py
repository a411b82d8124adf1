"""``python -m hsctms`` runs the command-line interface."""

from hsctms.cli import main

main()
