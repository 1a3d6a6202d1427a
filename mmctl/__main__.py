"""Entry point: `python -m mmctl --help`."""

import sys

from mmctl.cli import main

sys.exit(main(sys.argv[1:]))
