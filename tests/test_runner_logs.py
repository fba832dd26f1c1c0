"""Log files: atomic JSON/checkpoint writes, flushed CSV rows, new columns, truncation."""

import csv
import os

import pytest

from sfadamw.runner import logs


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "hparams.json"
    logs.atomic_write_json(str(path), {"learning_rate": 0.1})
    with pytest.raises(TypeError):
        logs.atomic_write_bytes(str(path), "not bytes")  # fails inside the write
    assert path.read_text() == '{\n  "learning_rate": 0.1\n}\n'
    assert os.listdir(tmp_path) == ["hparams.json"]  # no temporary file left behind


def test_rows_are_appended_and_new_columns_extend_the_header(tmp_path):
    logger = logs.MetricsLogger(str(tmp_path), preemption_count=2)
    logger.append_scalar_metrics({"loss": 1.5}, global_step=10)
    logger.append_scalar_metrics({"loss": 1.25}, global_step=20)
    logger.append_scalar_metrics({"score": 3.0}, global_step=20, preemption_count=3)
    with open(tmp_path / "measurements.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [["loss", "global_step", "preemption_count", "score"],
                    ["1.5", "10", "2", ""], ["1.25", "20", "2", ""], ["", "20", "3", "3.0"]]
    logger.train.truncate(1)
    assert [r["global_step"] for r in logger.train.rows()] == ["10"]
    assert not (tmp_path / "eval_measurements.csv").exists()


def test_floats_round_trip_exactly(tmp_path):
    log = logs.CsvLog(str(tmp_path / "e.csv"))
    value = 0.1 + 0.2
    log.append({"validation/accuracy": value, "global_step": 1})
    assert float(log.rows()[0]["validation/accuracy"]) == value
