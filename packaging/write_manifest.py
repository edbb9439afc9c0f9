"""Write (or check) ``resources/manifest.json``, the package manifest of a checkout and a wheel:
the SHA-256 of every file under ``resources/`` and of dlib's model files.

    python packaging/write_manifest.py           # after changing, adding or removing a resource
    python packaging/write_manifest.py --check   # exit 1 when the committed manifest is stale

The bundle build writes its own manifest over every file group (see
``crossid_desktop/selftest/manifest.py`` and ``packaging/crossid-desktop.spec``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crossid_desktop.selftest import manifest as mf  # noqa: E402  (the checkout, not an installed copy)

TARGET = ROOT / "resources" / mf.MANIFEST_NAME
ROOTS = {"resources": ROOT / "resources"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the committed manifest")
    args = parser.parse_args(argv)
    if args.check:
        checked, problems = mf.verify(mf.read_manifest(TARGET), roots=ROOTS, groups=mf.PACKAGE_GROUPS)
        for problem in problems:
            print(f"write_manifest: {problem.sentence()}", file=sys.stderr)
        print(f"{checked} files checked, {len(problems)} problems")
        return 1 if problems else 0
    manifest = mf.build_manifest("package", mf.PACKAGE_GROUPS, roots=ROOTS)
    mf.write_manifest(manifest, TARGET)
    print(f"{TARGET.relative_to(ROOT)}: {manifest.n_files} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
