"""Metrics go to metrics.jsonl and to TensorBoard with the same values."""

import json

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from crawl2gpt.training.metrics import MetricsLogger


def test_jsonl_and_tensorboard_hold_the_same_scalars(tmp_path):
    logger = MetricsLogger(tmp_path)
    records = [{"step": 1, "loss": 2.5, "lr": 1e-4}, {"step": 2, "loss": 2.25, "lr": 2e-4}]
    for record in records:
        logger.log(record)
    logger.close()
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["loss"]) for r in lines] == [(1, 2.5), (2, 2.25)]
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("loss")] == [(1, 2.5), (2, 2.25)]
    assert [e.step for e in events.Scalars("lr")] == [1, 2]
