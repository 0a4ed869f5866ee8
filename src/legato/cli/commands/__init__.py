"""The declarations of ``legato``'s commands, one module per group: names, arguments,
options and help. A declaration only declares: its body lives in a module of
:mod:`legato.cli` (``running``, ``runs``, ``models``...) that it imports when it runs, so
``legato --help`` loads typer and nothing heavier. :mod:`legato.cli.app` assembles them.
"""
