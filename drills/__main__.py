"""``python -m drills``: the ``beamdrill`` command line."""

from drills.cli import main

main()
