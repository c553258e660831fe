"""One warning when the loader, not the model, sets the pace of training."""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)

WARN_ABOVE = 0.20  # data wait as a share of the step


class DataWaitMonitor:
    """Warns once when the data wait of a log window exceeds WARN_ABOVE of its step time.

    The first window is not judged: it holds the workers' start-up."""

    def __init__(self, data_config, share: float = WARN_ABOVE):
        self.data_config = data_config
        self.share = share
        self.windows = 0
        self.warned = False

    def check(self, data_time: float, step_time: float) -> bool:
        """True when this call warned."""
        self.windows += 1
        if self.warned or self.windows < 2 or step_time <= 0 or data_time <= self.share * step_time:
            return False
        self.warned = True
        hint = [f"more loader workers (data.workers={self.data_config.workers})"]
        if not self.data_config.crop_cache:
            hint.append("a person-crop cache (`semipose cache CONFIG`, then data.crop_cache=DIR)")
        log.warning("data wait is %.0f %% of the training step (%.1f of %.1f ms): the loader cannot keep up; "
                    "try %s (benchmarks/step_speed.py prints the workers a method needs)",
                    100 * data_time / step_time, 1e3 * data_time, 1e3 * step_time, " or ".join(hint))
        return True
