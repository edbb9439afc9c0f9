"""The window's start-up check names missing X11 libraries and a missing display in one sentence."""

from __future__ import annotations

from crossid_desktop.gui.platform_check import XCB_LIBRARIES, platform_problem


def test_missing_xcb_libraries_are_named_with_their_packages() -> None:
    absent = {"libxcb-cursor.so.0", "libxkbcommon-x11.so.0"}
    problem = platform_problem({"DISPLAY": ":0"}, platform="linux", loads=lambda name: name not in absent)
    assert problem is not None
    assert "libxcb-cursor.so.0" in problem and "libxkbcommon-x11.so.0" in problem and "libxcb-icccm.so.4" not in problem
    assert "sudo apt install libxcb-cursor0 libxkbcommon-x11-0" in problem
    assert "sudo dnf install libxkbcommon-x11 xcb-util-cursor" in problem


def test_nothing_to_say_when_everything_loads_or_another_platform_is_chosen() -> None:
    assert platform_problem({"DISPLAY": ":0"}, platform="linux", loads=lambda name: True) is None
    never = lambda name: False  # noqa: E731
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen"}, platform="linux", loads=never) is None
    assert platform_problem({"WAYLAND_DISPLAY": "wayland-0"}, platform="linux", loads=never) is None
    assert platform_problem({}, platform="win32", loads=never) is None
    assert platform_problem({}, platform="darwin", loads=never) is None


def test_no_display_is_said_plainly() -> None:
    problem = platform_problem({}, platform="linux", loads=lambda name: True)
    assert problem is not None and "DISPLAY is not set" in problem


def test_every_library_has_both_packages() -> None:
    assert all(debian and fedora for debian, fedora in XCB_LIBRARIES.values())
