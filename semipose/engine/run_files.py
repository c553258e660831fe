"""Files of a run directory written before training starts."""
from __future__ import annotations

from pathlib import Path

import yaml

from semipose.configtools import to_dict


def save_resolved_config(config) -> Path:
    """The fully resolved config, so `semipose train RUN_DIR/config.yaml` repeats the run."""
    run_dir = Path(config.train.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "config.yaml"
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
    tmp.replace(path)
    return path
