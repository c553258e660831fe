#!/usr/bin/env bash
# The GPU check (benchmarks/gpu_check.py): one table on stdout, DIR/gpu_check.json; <= 8 minutes.
#
#   benchmarks/gpu_check.sh [DIR]          # default DIR: gpu_check_out
#   PYTHON=/opt/venv/bin/python GPU_CHECK_BUDGET_S=300 benchmarks/gpu_check.sh /tmp/out
#
# Runs with the machine's own Python and torch: nothing is installed (semipose is imported from
# this checkout through PYTHONPATH; set GPU_CHECK_PIP=1 to `pip install -e . --no-deps` instead).
# Exits 0 with a "skipped" line when torch sees no CUDA device or a package semipose needs is missing.
set -u
cd "$(dirname "$0")/.."
OUT="${1:-gpu_check_out}"
PYTHON="${PYTHON:-python3}"
BUDGET="${GPU_CHECK_BUDGET_S:-420}"
mkdir -p "$OUT"

skip() {
    echo "gpu_check: skipped: $1"
    printf '{"skipped": "%s", "date": "%s"}\n' "$1" "$(date -u +%Y-%m-%dT%H:%MZ)" > "$OUT/gpu_check.json"
    exit 0
}

"$PYTHON" -c "import torch" 2>/dev/null || skip "no torch for $PYTHON"
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || skip "torch $("$PYTHON" -c 'import torch; print(torch.__version__)') sees no CUDA device"
missing=$("$PYTHON" - <<'PY'
import importlib.util
needed = {"numpy": "numpy", "cv2": "opencv-python-headless", "PIL": "pillow", "yaml": "pyyaml",
          "pycocotools": "pycocotools", "scipy": "scipy", "tqdm": "tqdm", "matplotlib": "matplotlib"}
print(" ".join(pip for module, pip in needed.items() if importlib.util.find_spec(module) is None))
PY
)
[ -z "$missing" ] || skip "missing Python packages: $missing"
if [ "${GPU_CHECK_PIP:-0}" = 1 ]; then
    "$PYTHON" -m pip install -e . --no-deps -q || skip "pip install -e . --no-deps failed"
else
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
# The whole check stops at 8 minutes whatever happens inside (the Python side keeps to $BUDGET).
timeout 480 "$PYTHON" benchmarks/gpu_check.py --out "$OUT" --budget-s "$BUDGET"
