"""Watch for the collapse of paper Sec. 3.2: the heatmap response on unlabelled images falls toward
zero while the labelled response keeps rising.

The engine calls `update(step, logs)` every monitor.every iterations with a step's logs (see
semipose/methods/common.py, response_logs, for the keys). Each call is one check of
    ratio = response_unlabelled_student / response_labelled
(the student is the network being trained in every method; a fixed or EMA teacher would not
show its collapse). A check is "low" when ratio < alarm_fraction; `patience` consecutive low
checks make the state "collapsed" and `update` returns a CollapseEvent once, for the engine to
warn, stop or roll back (monitor.action). Fewer low checks give "warning"; a normal check
resets to "ok". Checks before the labelled response reaches `min_labelled_response` are recorded
but never low: at the start both responses are near zero and their ratio is noise.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

LABELLED_KEY = "response_labelled"
STUDENT_KEY = "response_unlabelled_student"
TEACHER_KEY = "response_unlabelled_teacher"
SERIES = ("step", "labelled", "unlabelled_student", "unlabelled_teacher", "ratio")

log = logging.getLogger("semipose")


@dataclass
class CollapseEvent:
    step: int
    ratio: float
    labelled_response: float
    unlabelled_response: float
    low_checks: int
    action: str
    message: str

    def as_dict(self) -> dict[str, float]:
        """The numbers, for an `event` record of the run log (which takes floats only)."""
        return {"response_ratio": self.ratio, "labelled_response": self.labelled_response,
                "unlabelled_response": self.unlabelled_response, "low_checks": float(self.low_checks)}


class CollapseMonitor:
    def __init__(self, config, min_labelled_response: float = 0.05):
        if not 0.0 < config.alarm_fraction <= 1.0 or config.patience < 1:
            raise ValueError(f"monitor.alarm_fraction must be in (0, 1] and monitor.patience >= 1, got "
                             f"{config.alarm_fraction} and {config.patience}")
        self.config = config
        self.min_labelled_response = min_labelled_response
        self.low_checks = 0
        self.alarmed = False  # an event was already returned for the current collapse
        self._history = {name: [] for name in SERIES}

    @property
    def state(self) -> str:
        if self.low_checks >= self.config.patience:
            return "collapsed"
        return "warning" if self.low_checks else "ok"

    def update(self, step: int, logs: dict) -> Optional[CollapseEvent]:
        """Record one check; a CollapseEvent on the check that reaches `patience`, else None."""
        if LABELLED_KEY not in logs:
            return None
        labelled = float(logs[LABELLED_KEY])
        student = float(logs[STUDENT_KEY]) if STUDENT_KEY in logs else float("nan")
        teacher = float(logs[TEACHER_KEY]) if TEACHER_KEY in logs else float("nan")
        ratio = student / labelled if labelled > 0 else float("nan")
        for name, value in zip(SERIES, (step, labelled, student, teacher, ratio)):
            self._history[name].append(value)
        if STUDENT_KEY not in logs:
            return None  # a supervised run: its labelled response is plotted, there is no collapse to watch

        low = labelled >= self.min_labelled_response and ratio < self.config.alarm_fraction
        self.low_checks = self.low_checks + 1 if low else 0
        if not low:
            self.alarmed = False
            return None
        if self.state != "collapsed" or self.alarmed:
            return None
        self.alarmed = True
        message = (f"unlabelled heatmap response {student:.4f} is {ratio:.2f} x the labelled {labelled:.4f} "
                   f"(< {self.config.alarm_fraction}) for {self.low_checks} consecutive checks up to step {step}: "
                   f"the unlabelled predictions are collapsing to background (paper Sec. 3.2)")
        return CollapseEvent(step, ratio, labelled, student, self.low_checks, self.config.action, message)

    def history(self) -> dict[str, list]:
        """Per-check series (copies): step, labelled, unlabelled_student, unlabelled_teacher, ratio."""
        return {name: list(values) for name, values in self._history.items()}

    def state_dict(self) -> dict:
        return {"low_checks": self.low_checks, "alarmed": self.alarmed, "history": self.history()}

    def load_state_dict(self, state: dict) -> None:
        """Restore from `state_dict()`; an empty dict (an old checkpoint) leaves a fresh monitor."""
        self.low_checks = int(state.get("low_checks", 0))
        self.alarmed = bool(state.get("alarmed", False))
        history = state.get("history", {})
        self._history = {name: list(history.get(name, [])) for name in SERIES}

    def plot(self, png_path) -> Optional[Path]:
        """Labelled vs unlabelled (teacher, student) response against the step; None with no checks."""
        if not self._history["step"]:
            log.info("collapse monitor: no heatmap-response checks recorded, %s not written", png_path)
            return None
        from semipose.engine.plots import plot_curves  # late: matplotlib loads only when a picture is drawn

        steps = self._history["step"]
        series = {"labelled": (steps, self._history["labelled"])}
        measured = lambda name: any(value == value for value in self._history[name])  # noqa: E731  not all nan
        if measured("unlabelled_student"):
            series["unlabelled (student)"] = (steps, self._history["unlabelled_student"])
            alarm_level = [self.config.alarm_fraction * value for value in self._history["labelled"]]
            series[f"alarm level ({self.config.alarm_fraction:g} x labelled)"] = (steps, alarm_level)
        if measured("unlabelled_teacher"):
            series["unlabelled (teacher)"] = (steps, self._history["unlabelled_teacher"])
        return plot_curves(series, png_path, title=f"heatmap response (state: {self.state})",
                           ylabel="mean max heatmap value")
