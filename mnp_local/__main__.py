"""``python -m mnp_local``: see :mod:`mnp_local.cli`."""

import sys

from mnp_local.cli import main

sys.exit(main())
