"""Allows ``python -m asgibench``."""

from asgibench.cli import main

main()
