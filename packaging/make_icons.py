"""Render the application icon from its SVG source into every format the application, the
desktop entry and the bundles need.

    python packaging/make_icons.py            # writes the files below
    python packaging/make_icons.py --check    # exit 1 when a written file is missing or stale

Source: ``resources/icons/crossid-desktop.svg``. Written:

- ``resources/icons/crossid-desktop-<N>.png`` for N in :data:`PNG_SIZES` (the window icon
  and the freedesktop icon theme; shipped with the package and the bundle);
- ``packaging/icons/crossid-desktop.ico`` (Windows executables; 16 to 256 px);
- ``packaging/icons/crossid-desktop.icns`` (the macOS application bundle; 16 to 1024 px).

The SVG is drawn by Qt's SVG renderer (QtSvg, part of PySide6-Essentials) with antialiasing;
the ICO and ICNS containers are written by Pillow from those PNGs. Rendering is
deterministic for one Qt release, so ``--check`` compares pixels, not file bytes.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "crossid-desktop.svg"
PNG_DIR = ROOT / "resources" / "icons"
ICO = ROOT / "packaging" / "icons" / "crossid-desktop.ico"
ICNS = ROOT / "packaging" / "icons" / "crossid-desktop.icns"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)  # 1024: the 512 px @2x image


def png_path(size: int) -> Path:
    return PNG_DIR / f"crossid-desktop-{size}.png"


def render_png(svg: Path, size: int) -> bytes:
    """The SVG drawn into a transparent ``size`` x ``size`` RGBA image, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {svg} is not a valid SVG file.")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def rendered_pngs() -> dict[int, bytes]:
    """Every size rendered from the SVG (needs a Qt application object for QPainter)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    return {size: render_png(SVG, size) for size in sorted({*PNG_SIZES, *ICO_SIZES, *ICNS_SIZES})}


def container_bytes(pngs: dict[int, bytes], fmt: str, sizes: tuple[int, ...]) -> bytes:
    """An ICO or ICNS file holding the PNGs of ``sizes`` (Pillow picks each size's image)."""
    from PIL import Image

    images = {size: Image.open(io.BytesIO(pngs[size])).convert("RGBA") for size in sizes}
    largest = images[max(sizes)]
    out = io.BytesIO()
    if fmt == "ICO":
        largest.save(out, format="ICO", sizes=[(s, s) for s in sizes], append_images=[images[s] for s in sizes if s != max(sizes)])
    else:
        largest.save(out, format="ICNS", append_images=[images[s] for s in sizes if s != max(sizes)])
    return out.getvalue()


def _same_pixels(a: bytes, b: bytes) -> bool:
    from PIL import Image, ImageChops

    first, second = (Image.open(io.BytesIO(x)).convert("RGBA") for x in (a, b))
    return first.size == second.size and ImageChops.difference(first, second).getbbox() is None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the written icons match the SVG")
    args = parser.parse_args(argv)
    pngs = rendered_pngs()
    if args.check:
        stale = [png_path(s) for s, data in pngs.items() if s in PNG_SIZES and ( not png_path(s).is_file() or not _same_pixels(png_path(s).read_bytes(), data))]
        stale += [p for p in (ICO, ICNS) if not p.is_file()]
        for path in stale:
            print(f"make_icons: {path.relative_to(ROOT)} is missing or differs from the SVG; run python packaging/make_icons.py", file=sys.stderr)
        return 1 if stale else 0
    for size in PNG_SIZES:
        png_path(size).write_bytes(pngs[size])
    ICO.parent.mkdir(parents=True, exist_ok=True)
    ICO.write_bytes(container_bytes(pngs, "ICO", ICO_SIZES))
    ICNS.write_bytes(container_bytes(pngs, "ICNS", ICNS_SIZES))
    for path in [*(png_path(s) for s in PNG_SIZES), ICO, ICNS]:
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
