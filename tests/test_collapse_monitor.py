"""The collapse monitor: an alarm after `patience` consecutive low checks and not before, once per
collapse, silent for supervised runs and early noise; state survives a checkpoint round trip."""
import pytest

from semipose.config import MonitorConfig
from semipose.engine.collapse_monitor import CollapseMonitor


def _logs(labelled, unlabelled, teacher=None):
    logs = {"response_labelled": labelled, "response_unlabelled_student": unlabelled, "loss_sup": 0.1}
    if teacher is not None:
        logs["response_unlabelled_teacher"] = teacher
    return logs


def test_alarm_after_patience_low_checks_and_not_before():
    monitor = CollapseMonitor(MonitorConfig(alarm_fraction=0.3, patience=3, action="stop"))
    assert monitor.update(50, _logs(0.6, 0.5)) is None and monitor.state == "ok"
    assert monitor.update(100, _logs(0.6, 0.1)) is None and monitor.state == "warning"
    assert monitor.update(150, _logs(0.6, 0.1)) is None and monitor.state == "warning"
    event = monitor.update(200, _logs(0.6, 0.06))
    assert event is not None and monitor.state == "collapsed"
    assert event.step == 200 and event.low_checks == 3 and event.action == "stop"
    assert event.ratio == pytest.approx(0.1) and "collaps" in event.message
    assert set(event.as_dict()) >= {"response_ratio", "labelled_response", "unlabelled_response"}
    assert all(isinstance(value, float) for value in event.as_dict().values())
    assert monitor.update(250, _logs(0.6, 0.05)) is None        # one alarm per collapse
    assert monitor.state == "collapsed"


def test_a_normal_check_resets_the_count_and_rearms_the_alarm():
    monitor = CollapseMonitor(MonitorConfig(alarm_fraction=0.5, patience=2))
    monitor.update(1, _logs(1.0, 0.1))
    monitor.update(2, _logs(1.0, 0.9))                           # recovered before patience
    assert monitor.state == "ok" and monitor.update(3, _logs(1.0, 0.1)) is None
    assert monitor.update(4, _logs(1.0, 0.1)) is not None
    monitor.update(5, _logs(1.0, 0.8))
    monitor.update(6, _logs(1.0, 0.1))
    assert monitor.update(7, _logs(1.0, 0.1)) is not None        # a second collapse alarms again


def test_silent_for_supervised_logs_and_while_the_labelled_response_is_tiny():
    monitor = CollapseMonitor(MonitorConfig(alarm_fraction=0.3, patience=1))
    assert monitor.update(1, {"loss_sup": 0.2, "response_labelled": 0.5}) is None
    for step in range(2, 6):
        assert monitor.update(step, _logs(0.01, 0.0001)) is None  # both near zero at the start: noise
    # the supervised check is recorded (its labelled response is plotted) but never alarms
    assert monitor.state == "ok" and len(monitor.history()["step"]) == 5


def test_history_state_round_trip_and_plot(tmp_path):
    monitor = CollapseMonitor(MonitorConfig(patience=2))
    assert monitor.plot(tmp_path / "none.png") is None           # nothing checked, nothing drawn
    monitor.update(10, _logs(0.5, 0.4, teacher=0.45))
    monitor.update(20, _logs(0.6, 0.1, teacher=0.2))
    history = monitor.history()
    assert history["step"] == [10, 20] and history["ratio"] == pytest.approx([0.8, 1 / 6])
    assert history["unlabelled_teacher"] == [0.45, 0.2]

    restored = CollapseMonitor(MonitorConfig(patience=2))
    restored.load_state_dict(monitor.state_dict())
    assert restored.state == "warning" and restored.history() == history
    assert restored.update(30, _logs(0.6, 0.1)) is not None
    fresh = CollapseMonitor(MonitorConfig())
    fresh.load_state_dict({})
    assert fresh.state == "ok"

    png = monitor.plot(tmp_path / "response.png")
    assert png.exists() and png.stat().st_size > 1000


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="monitor.alarm_fraction"):
        CollapseMonitor(MonitorConfig(alarm_fraction=0.0))
