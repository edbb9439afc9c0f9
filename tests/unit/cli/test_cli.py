"""The ``crossid`` command: help, version, info, preprocess, and how user errors look."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop import __version__
from crossid_desktop.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crossid_desktop", *args], capture_output=True, text=True, timeout=300)


def test_help_lists_commands_and_is_light() -> None:
    # --help must not import torch, OpenCV or Qt: the window and the CLI appear fast.
    code = (
        "import sys, contextlib, io\n"
        "from crossid_desktop.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        "heavy = [m for m in ('torch', 'cv2', 'PySide6', 'hnswlib', 'reportlab', 'dlib') if m in sys.modules]\n"
        "print(heavy)\nprint(out.getvalue())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    first, _, help_text = result.stdout.partition("\n")
    assert first == "[]", f"heavy modules imported by --help: {first}"
    for command in ("info", "preprocess"):
        assert command in help_text


def test_info_loads_no_heavy_module_and_says_the_device_was_not_checked(tmp_path: Path) -> None:
    code = (
        "import sys, contextlib, io, json\n"
        "from crossid_desktop.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    main(['--workspace', {str(tmp_path / 'ws')!r}, 'info', '--json'])\n"
        "heavy = [m for m in ('torch', 'torchvision', 'cv2', 'PySide6', 'dlib') if m in sys.modules]\n"
        "print(json.dumps(heavy))\nprint(out.getvalue())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    first, _, text = result.stdout.partition("\n")
    assert json.loads(first) == [], f"heavy modules imported by info: {first}"
    info = json.loads(text)
    from importlib.metadata import version

    assert info["torch"] == version("torch") and info["numpy"] == version("numpy")
    assert info["device_checked"] is False and info["cuda_available"] is None


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"crossid {__version__}"


def test_info_json_reports_versions_and_device(tmp_path: Path) -> None:
    result = run_cli("--workspace", str(tmp_path / "ws"), "info", "--json", "--device")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    import cv2
    import torch

    assert info["torch"] == torch.__version__.split("+")[0]  # the package's version; the build is torch_build
    assert info["torch_build"] == torch.__version__
    assert cv2.__version__ in info["opencv"]  # 4.10.0 of the wheel 4.10.0.84
    assert info["cuda_available"] == torch.cuda.is_available() and info["device_checked"]
    assert info["workspace"] == str(tmp_path / "ws")
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert info["qt"] and info["qt"].startswith("6.")


def test_unknown_command_is_a_usage_error() -> None:
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_preprocess_xray_writes_suppressed_image(tmp_path: Path) -> None:
    import cv2

    # A bright ring ("bone") on a darker smooth layer ("soft tissue") on air.
    image = np.full((200, 160), 12, np.uint8)
    cv2.ellipse(image, (80, 100), (70, 90), 0, 0, 360, 60, -1)
    cv2.ellipse(image, (80, 90), (50, 60), 0, 0, 360, 210, 8)
    source = tmp_path / "xray.png"
    cv2.imwrite(str(source), image)
    out = tmp_path / "out.png"
    assert main(["preprocess", "xray", str(source), str(out), "--strength", "0.8"]) == 0
    result = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert result.shape == image.shape
    bone = result[90, 80 + 50]  # on the ring
    haze = result[180, 80]  # soft tissue only
    assert int(bone) > int(haze)


@pytest.mark.parametrize("content", [b"", b"this is a text file, not an image\n", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_bad_input_is_one_sentence_and_non_zero(tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "query.png"
    source.write_bytes(content)
    result = run_cli("preprocess", "xray", str(source), str(tmp_path / "out.png"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("crossid: error:")
    assert "query.png" in lines[0]
    assert not (tmp_path / "out.png").exists()


def test_missing_file_and_bad_strength(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preprocess", "xray", str(tmp_path / "nope.dcm"), str(tmp_path / "o.png")]) != 0
    assert "nope.dcm" in capsys.readouterr().err
    source = tmp_path / "x.png"
    import cv2

    cv2.imwrite(str(source), np.full((32, 32), 100, np.uint8))
    assert main(["preprocess", "xray", str(source), str(tmp_path / "o.png"), "--strength", "3"]) != 0
    assert "strength" in capsys.readouterr().err.lower()


def test_debug_shows_traceback(tmp_path: Path) -> None:
    source = tmp_path / "empty.png"
    source.write_bytes(b"")
    result = run_cli("--debug", "preprocess", "xray", str(source), str(tmp_path / "o.png"))
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_preprocess_face_without_a_face(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2

    source = tmp_path / "wall.png"
    cv2.imwrite(str(source), np.full((120, 100, 3), 128, np.uint8))
    out = tmp_path / "crop.png"
    assert main(["preprocess", "face", str(source), str(out)]) != 0
    err = capsys.readouterr().err
    assert "wall.png" in err and "--centre-crop" in err and not out.exists()
    assert main(["preprocess", "face", str(source), str(out), "--centre-crop", "--size", "128"]) == 0
    assert "centred crop" in capsys.readouterr().out
    assert cv2.imread(str(out)).shape == (128, 128, 3)


def test_preprocess_face_aligns_a_real_photo(tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2

    photo = sorted((shared_data / "faces" / "lfw_dev").glob("*/*.jpg"))[0]
    out = tmp_path / "aligned.png"
    assert main(["preprocess", "face", str(photo), str(out)]) == 0
    assert "face found" in capsys.readouterr().out
    assert cv2.imread(str(out)).shape == (256, 256, 3)
