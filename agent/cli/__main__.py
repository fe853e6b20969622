"""`python -m rung.agent.cli`: the `rung` command."""

import sys

from rung.agent.cli.main import main

sys.exit(main())
