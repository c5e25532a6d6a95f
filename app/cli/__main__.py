"""`python -m app.cli` (e.g. under torchrun) is the `reenact` command."""
import sys

from app.cli import main

sys.exit(main())
