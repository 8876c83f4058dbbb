"""``python -m sio``."""

from sio.cli import main

main()
