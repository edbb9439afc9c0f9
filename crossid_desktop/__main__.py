"""``python -m crossid_desktop``: the ``crossid`` command."""

from crossid_desktop.cli import main

raise SystemExit(main())
