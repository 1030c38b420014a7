#!/usr/bin/env bash
# A new user's first minutes, measured (docs/benchmarks_archive.md §9): clone, `make test`, the first melodies
# from the best bundled model, and `make app` until its server answers. Prints one table.
#   tools/fresh_clone.sh [SOURCE_REPO] [CLONE_DIR]     (defaults: this repository, a new temp folder)
set -euo pipefail
SOURCE=${1:-$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)}
CLONE=${2:-$(mktemp -d)/melody-generator}
PORT=${PORT:-8765}
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

start=$(now); git clone --quiet "$SOURCE" "$CLONE"; clone_s=$(since "$start")
cd "$CLONE"
start=$(now); make test > make_test.log 2>&1; test_s=$(since "$start")
tests=$(grep -E "passed|failed" make_test.log | tail -1)

best=$(grep -m1 -oE '^\| `[a-z_]+`' models/README.md | tr -d '|` ')
start=$(now)
.venv/bin/python -m src.sample "ckpt=models/$best.ckpt" "seed=60 _ 62 _ 64 _ 65 _" num_samples=4 steps=256 \
    rng_seed=0 "out_dir=$(mktemp -d)/melodies" > sample.out 2> sample.log
sample_s=$(since "$start")

start=$(now)
make app ARGS="--server.port=$PORT" > app.log 2>&1 &
app=$!
until curl -fs "http://127.0.0.1:$PORT/_stcore/health" > /dev/null 2>&1; do
    kill -0 "$app" 2> /dev/null || { echo "make app ended early: see $CLONE/app.log"; exit 1; }
    sleep 0.2
done
app_s=$(since "$start")
pkill -P "$app" 2> /dev/null || true; kill "$app" 2> /dev/null || true; wait "$app" 2> /dev/null || true

changed=$(git status --porcelain --untracked-files=no | wc -l)
cat <<EOF
| step | seconds | result |
| --- | --- | --- |
| git clone | $clone_s | $(du -sh .git | cut -f1) of history |
| make test (install + suite) | $test_s | $tests |
| first 4 melodies, best bundled model ($best) | $sample_s | $(wc -l < sample.out) melodies printed |
| make app until the server answers | $app_s | http://127.0.0.1:$PORT/ |
| tracked files changed by all of the above | | $changed |
EOF
