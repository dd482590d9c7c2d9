"""`python -m foi_cli`: the same as the `foi` command."""

from foi_cli.main import main

main()
