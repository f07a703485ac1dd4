import sys

from mnp_toolkit.cli import main

sys.exit(main())
