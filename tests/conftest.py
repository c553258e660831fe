"""Shared fixtures: a small synthetic dataset generated once per test session."""
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    from semipose.data.synth import generate_dataset
    out = tmp_path_factory.mktemp("synth")
    generate_dataset(out, num_people=96, seed=0, val_people=24, image_size=(160, 128), height_range=(40, 110))
    return out


def synth_overrides(synth_dir: Path, run_dir: Path) -> list[str]:
    """Config overrides for a seconds-long CPU run on the session's synthetic people."""
    return [f"data.train.images={synth_dir}/images/train", f"data.train.json={synth_dir}/annotations/train.json",
            f"data.val.images={synth_dir}/images/val", f"data.val.json={synth_dir}/annotations/val.json",
            "data.num_labelled=48", "data.input_size=[48,64]", "data.workers=0", "data.cache_images=true",
            "model.name=tiny", "model.width=8", "train.batch_size=8", "train.iterations=8", "train.lr_steps=[6]",
            "train.val_every=4", "train.checkpoint_every=2", "train.log_every=1", f"train.run_dir={run_dir}",
            "eval.batch_size=32", "monitor.every=2", "train.seed=3"]
