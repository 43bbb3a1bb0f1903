"""`python -m tools.diagram`: see the package docstring."""

import sys

from . import main

sys.exit(main(sys.argv[1:]))
