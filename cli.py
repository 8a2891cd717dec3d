"""Run the command line from a checkout: ``python cli.py --help``."""
from compliance.cli import main

main()
