"""`python -m arb.cli`: the same as `arb-engine`."""

from arb.cli import main

raise SystemExit(main())
