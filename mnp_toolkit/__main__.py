import sys

from mnp_toolkit.cli.main import main

sys.exit(main())
