"""The bad-input corpus, end to end through the public entry points (see README.md here)."""
from __future__ import annotations

import logging

import pytest

from .builders import (MARKER, CreatesFileWhenUnpickled, data_section, evil_checkpoint,
                       sample_crops, train_report, write_dataset)
from .cases import CASES
from .generators_runtime import command_line, run_main
from .outcomes import Counts, Exits, Loads, Raises, Warns

EXPECTED_SKIPS = {"crowd", "no_keypoints", "other_category", "low_score"}  # no warning for these


def _param(case):
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


def test_the_corpus_is_large_and_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 40


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_bad_input(case, tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO)
    action = case.make(tmp_path)
    outcome = case.outcome
    if isinstance(outcome, Raises):
        _check_raises(action, outcome, str(tmp_path))
    elif isinstance(outcome, Counts):
        _check_counts(action(), outcome, caplog)
    elif isinstance(outcome, Loads):
        assert action() == pytest.approx(outcome.value, abs=outcome.tolerance)
    elif isinstance(outcome, Warns):
        action()
        _check_warning(outcome.fragments, str(tmp_path), caplog)
    elif isinstance(outcome, Exits):
        _check_exit(action, outcome, str(tmp_path), capsys)
    else:
        raise TypeError(f"unknown outcome {outcome!r}")
    if case.must_not_create:
        assert not (tmp_path / case.must_not_create).exists(), "code in the file was executed"


def _check_raises(action, outcome: Raises, tmp: str) -> None:
    with pytest.raises(Exception) as info:
        action()
    # Exactly our class: a numpy / OpenCV / pickle error would be a traceback for the user.
    assert type(info.value) is outcome.error, f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert outcome.max_length is None or len(message) <= outcome.max_length, len(message)
    for fragment in outcome.fragments:
        assert fragment.replace("{tmp}", tmp) in message


def _check_counts(report: dict, outcome: Counts, caplog) -> None:
    assert report["kept"] == outcome.kept
    assert report["skipped"] == outcome.skipped
    assert report["repaired"] == outcome.repaired
    for reason, count in outcome.skipped.items():  # no silent loss: a summary line names them
        if reason not in EXPECTED_SKIPS:
            _check_warning((f"skipped {count} {reason}",), "", caplog)


def _check_warning(fragments, tmp: str, caplog) -> None:
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    expected = [fragment.replace("{tmp}", tmp) for fragment in fragments]
    assert any(all(fragment in line for fragment in expected) for line in warnings), warnings


def _check_exit(action, outcome: Exits, tmp: str, capsys) -> None:
    capsys.readouterr()
    assert action() == 2
    stderr = capsys.readouterr().err
    assert f"semipose {outcome.command}: error: " in stderr and "Traceback" not in stderr
    for fragment in outcome.fragments:
        assert fragment.replace("{tmp}", tmp) in stderr, stderr


# ---- controls: the unbroken inputs work, so each case fails for its own reason only ----


def test_the_unbroken_dataset_loads_without_skips_or_warnings(tmp_path, caplog):
    data = data_section(tmp_path, write_dataset(tmp_path))
    with caplog.at_level(logging.WARNING):
        report = train_report(data)
        crops = sample_crops(data)
    assert (report["kept"], report["skipped"], report["repaired"]) == (4, {}, {})
    assert len(crops) == 8 and not caplog.records


def test_the_unbroken_config_trains_and_evaluates_from_the_command_line(tmp_path, capsys):
    run = command_line("train", "{tmp}/config.yaml")(tmp_path)
    assert run() in (0, None)
    assert run_main(["eval", str(tmp_path / "config.yaml"), f"checkpoint={tmp_path}/run/last.pt"]) == 0
    assert "AP" in capsys.readouterr().out


def test_the_crafted_checkpoint_really_runs_code_when_unpickled_unsafely(tmp_path):
    """Proof that the pickled-object cases test something: plain pickle loading runs it."""
    import torch
    path = evil_checkpoint(tmp_path)
    assert not (tmp_path / MARKER).exists()
    torch.load(path, weights_only=False)
    assert (tmp_path / MARKER).exists()
    assert CreatesFileWhenUnpickled(tmp_path / "x").marker.endswith("x")
