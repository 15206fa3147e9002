"""``python -m gateway`` is the ``joinedup`` command."""

from gateway.cli import main

main()
