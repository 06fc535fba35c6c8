#!/usr/bin/env bash
# The lint (npm run lint, and .ci/run): ESLint and Prettier for the TypeScript and scripts, the layer rules of
# agent/src (dependency-cruiser, .dependency-cruiser.cjs), clang-format for the C and C++, and no source file
# over 400 lines. Fix formatting with: npx prettier --write . && git ls-files '*.c' '*.h' '*.cc' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install eslint --max-warnings 0 .
npx --no-install prettier --check --log-level warn .
npx --no-install depcruise agent/src --config .dependency-cruiser.cjs --output-type err
mapfile -t c_files < <(git ls-files '*.c' '*.h' '*.cc' ':!bpf/include/*')
clang-format --dry-run -Werror "${c_files[@]}"

# over 400 lines and still to be split: none now; a file listed here must be split (issue #11)
long_ok=()
status=0
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  n=$(wc -l <"$f")
  listed=0
  for x in "${long_ok[@]}"; do [ "$x" = "$f" ] && listed=1; done
  if [ "$n" -gt 400 ] && [ "$listed" = 0 ]; then
    echo "$f: $n lines (at most 400: split it into files of one purpose each)" >&2
    status=1
  elif [ "$n" -le 400 ] && [ "$listed" = 1 ]; then
    echo "$f: $n lines, no longer over 400: drop it from long_ok in scripts/lint.sh" >&2
    status=1
  fi
done < <(git ls-files -z '*.ts' '*.c' '*.h' '*.cc' '*.js' '*.sh' ':!bpf/include/' ':!bench/results/' ':!test/fixtures/' ':!package-lock.json')
exit "$status"
