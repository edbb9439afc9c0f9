"""Control characters in what the CLI prints are made visible, never written raw."""

from __future__ import annotations

import io

from crossid_desktop.cli.progressbar import TextProgress
from crossid_desktop.cli.terminal import VisibleStream, visible


def test_controls_are_escaped_but_newline_and_tab_kept() -> None:
    assert visible("a\x1b[31mred\x00b\rc\x7fd\x9be\tf\ng") == "a\\x1b[31mred\\x00b\\x0dc\\x7fd\\x9be\tf\ng"
    assert visible("Émile Ğ 名前") == "Émile Ğ 名前"
    # a right-to-left override would show the rest of the line reversed ("gpj.exe" as "exe.jpg")
    assert visible("photo\u202egpj.exe \u2066x\u2069") == "photo\\u202egpj.exe \\u2066x\\u2069"
    assert visible("\u200d\u200f") == "\u200d\u200f"  # joiners and marks stay (emoji, Hebrew)


def test_cli_prints_names_escaped(tmp_path, capsys) -> None:
    from crossid_desktop.cli import main

    assert main(["info", "--workspace", str(tmp_path / "ws\x1b[2Jx")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "ws\\x1b[2Jx" in out


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_keeps_its_carriage_return_and_escapes_messages() -> None:
    raw = _Tty()
    bar = TextProgress("enrol", stream=VisibleStream(raw), interval=0.0)
    bar(1, 2, "photo\x1b[2J.png")
    assert raw.getvalue().startswith("\renrol [") and "photo\\x1b[2J.png" in raw.getvalue() and "\x1b" not in raw.getvalue()
