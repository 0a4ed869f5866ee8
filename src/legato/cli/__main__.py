"""``python -m legato.cli``: the ``legato`` command."""

from legato.cli.app import main

main()
