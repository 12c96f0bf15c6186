"""`python -m w2v_core ...` — see `w2v_core.cli`."""

import sys

from w2v_core.cli import main

sys.exit(main())
