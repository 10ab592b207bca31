"""`python -m provisioner` runs the CLI."""

from provisioner.cli.app import main

main()
