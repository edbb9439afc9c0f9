"""CSV cells a spreadsheet would run as formulas are neutralised; everything else is unchanged."""

from __future__ import annotations

import csv
import io

import pytest

from crossid_desktop.spreadsheet import csv_text, safe_cell


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","click")', "+1+1", "-2+3", "@SUM(A1)", "\tstart", "\rstart"])
def test_formula_cells_get_a_leading_apostrophe(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Jane Doe", "S0001", "a=b", "", "0.5"])
def test_harmless_text_is_unchanged(value: str) -> None:
    assert safe_cell(value) == value


def test_numbers_stay_numbers() -> None:
    assert [safe_cell(v) for v in (-0.5, 3, True, None)] == [-0.5, 3, True, None]


def test_csv_text_round_trips_through_the_csv_module() -> None:
    text = csv_text([{"name": "=cmd|' /C calc'!A0", "score": -1.25, "note": "ok, fine"}], fieldnames=["name", "score", "note"])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows == [{"name": "'=cmd|' /C calc'!A0", "score": "-1.25", "note": "ok, fine"}]
    assert text.count("\n") == 2 and "\r" not in text


def test_plain_rows() -> None:
    assert csv_text([("a", "b"), ("@x", 2)]) == "a,b\n'@x,2\n"
