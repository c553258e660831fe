import sys

from semipose.cli.main import main

sys.exit(main())
