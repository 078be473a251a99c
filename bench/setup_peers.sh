#!/usr/bin/env bash
# Create the peers' own virtual environments under bench/.venvs/ (their pins clash with ours).
#   haste : upstream HASTE, hastecontext==0.2.4 with tree-sitter-language-pack 0.13.x (bundled grammars)
#   aider : aider-chat (its RepoMap), with its own pinned dependencies
# Peers that share our pins (rank_bm25, LlamaIndex CodeSplitter, LangChain EmbeddingsFilter, LlamaIndex
# SentenceEmbeddingOptimizer, sentence-transformers) run in the project's .venv.
# Every install is constrained by constraints.txt (torch==2.13.0: an unpinned torch pulls a CUDA build).
# Usage: bench/setup_peers.sh [haste] [aider]   (no argument: all)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CONSTRAINTS="$PWD/constraints.txt"
want=("$@")
[ ${#want[@]} -eq 0 ] && want=(haste aider)

make_venv() {  # name, then pip requirements
  local name=$1; shift
  local dir=bench/.venvs/$name stamp
  stamp=$(printf '%s\n' "$@" | cat - "$CONSTRAINTS" | sha256sum | cut -d' ' -f1)
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$stamp" ]; then
    echo "bench/.venvs/$name: up to date"; return
  fi
  [ -x "$dir/bin/python" ] || "$PY" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --upgrade pip
  "$dir/bin/python" -m pip install -q -c "$CONSTRAINTS" "$@"
  echo "$stamp" > "$dir/.installed"
  echo "bench/.venvs/$name: installed $*"
}

for name in "${want[@]}"; do
  case $name in
    haste) make_venv haste "hastecontext==0.2.4" "tree-sitter-language-pack>=0.13,<0.14" tiktoken ;;
    aider) make_venv aider "aider-chat==0.86.2" ;;
    *) echo "unknown peer venv: $name (haste, aider)" >&2; exit 2 ;;
  esac
done
