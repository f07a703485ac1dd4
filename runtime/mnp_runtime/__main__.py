"""``python -m mnp_runtime``: the same command line as ``mnp-node``."""

import sys

from mnp_runtime.cli import main

sys.exit(main())
