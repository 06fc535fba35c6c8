#!/usr/bin/env bash
# The lint (npm run lint, and .ci/run): ESLint and Prettier for the TypeScript and scripts, the layer rules of
# agent/src (dependency-cruiser, .dependency-cruiser.cjs), clang-format for the C and C++. Fix formatting with: npx prettier --write . && git ls-files '*.c' '*.h' '*.cc' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install eslint --max-warnings 0 .
npx --no-install prettier --check --log-level warn .
npx --no-install depcruise agent/src --config .dependency-cruiser.cjs --output-type err
mapfile -t c_files < <(git ls-files '*.c' '*.h' '*.cc' ':!bpf/include/*')
clang-format --dry-run -Werror "${c_files[@]}"
