"""The demo model (local/model/demo_model.py): scores per row in CSV, JSON and JSON Lines, answered in
the Accept's format; malformed input is ``BadInput`` naming the row and field (the server's 400)."""

from __future__ import annotations

import json

import pytest

from local.model.demo_model import BadInput, predict, score


def test_csv_rows_are_scored_one_line_each():
    body, content_type = predict(b"1,2,3,4\n\n0,0,0,0\n", "text/csv", "text/csv")

    assert content_type == "text/csv; charset=utf-8"
    assert body.decode().splitlines() == [f"{score([1, 2, 3, 4]):.6f}", f"{score([0, 0, 0, 0]):.6f}"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"instances": [[1, 2], [3, 4]]}', "application/json"),
        (b"[[1, 2], [3, 4]]", "application/json; charset=utf-8"),
        (b"[1, 2]\n[3, 4]\n", "application/jsonlines"),
    ],
)
def test_json_and_json_lines_give_the_same_scores_as_predictions(body, content_type):
    answer, media = predict(body, content_type, "application/json, text/csv")

    assert media == "application/json"
    assert json.loads(answer) == {"predictions": [round(score([1, 2]), 6), round(score([3, 4]), 6)]}


def test_a_scalar_json_line_is_a_row_of_one():
    answer, _ = predict(b"5\n", "application/jsonlines", "application/jsonlines")

    assert json.loads(answer) == {"predictions": [round(score([5]), 6)]}


def test_scores_saturate_rather_than_overflow():
    assert score([1e6]) == pytest.approx(1.0)
    assert score([-1e6]) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"\xff\xfe", "text/csv", "body is not UTF-8 text"),
        (b"{", "application/json", "body is not JSON"),
        (b'{"rows": []}', "application/json", 'JSON body must be a list of rows or {"instances": [...]}'),
        (b"a,b", "text/plain", "unsupported content type 'text/plain'; supported: text/csv, application/json"),
        (b"[1]\n{", "application/jsonlines", "row 2: not JSON"),
        (b"[[]]", "application/json", "row 1: expected a non-empty list of numbers"),
        (b"1,2\n3,x\n", "text/csv", "row 2, field 2: 'x' is not a number"),
        (b"1,nan\n", "text/csv", "row 1, field 2: 'nan' is not a finite number"),
        (b"\n\n", "text/csv", "no rows to score"),
    ],
)
def test_malformed_input_names_the_row_and_field(body, content_type, message):
    with pytest.raises(BadInput) as raised:
        predict(body, content_type, "text/csv")

    assert message in str(raised.value)
