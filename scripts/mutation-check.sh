#!/usr/bin/env bash
# Mutation check: does the suite fail when the product breaks? Each deliberate breakage is
# applied to a scratch clone of HEAD, the binaries are rebuilt there, and the test files that
# guard that property are run; a mutation is "caught" when they fail. Prints a Markdown table
# (pasted into BENCHMARKS.md). Not part of CI: CPU-heavy (one build per mutation). Needs root,
# like the entrypoint tests.
#   bash scripts/mutation-check.sh             every mutation
#   bash scripts/mutation-check.sh client-id   just the ones named
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
scratch=$(mktemp -d "${TMPDIR:-/tmp}/claudeauth-mutation-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
git clone -q --no-hardlinks "$repo" "$scratch/repo"
ln -s "$repo/node_modules" "$scratch/repo/node_modules"
cd "$scratch/repo"

# name | file | perl substitution | test files (and vitest options) that must fail
mutations=(
  "client-id|entrypoint/options.ts|s/DEFAULT_CLIENT_ID = \"9d1c250a-e61b-44d9-88ed-5944d1962f5e\"/DEFAULT_CLIENT_ID = \"00000000-0000-4000-8000-000000000000\"/|test/unit/token-refresh.test.ts -t single-flight"
  "settings-dropped|core/layout.ts|s/\\[SETTINGS_FILE, /[/|test/unit/entrypoint-faults.test.ts -t injection"
  "write-back-skipped|entrypoint/run.ts|s/await writeBack\\(/if (process.env.CLAUDEAUTH_NEVER) await writeBack(/|test/unit/token-refresh.test.ts -t write-back"
  "refresh-token-in-working-copy|entrypoint/working-copy.ts|s/serializeJson\\(withoutRefreshToken\\(credentials\\)\\)/serializeJson(credentials)/|test/unit/token-refresh.test.ts -t single-flight"
  "redaction-removed|core/output.ts|s/return printable\\(redact\\(\`\\\$\\{prefix\\}/return printable((\`\\\${prefix}/|test/unit/redaction-paths.test.ts"
)
# The control: every subset above, on the unbroken clone, must pass.
control="test/unit/token-refresh.test.ts test/unit/entrypoint-faults.test.ts test/unit/redaction-paths.test.ts"

wanted=("$@")
rows=()
for entry in "control|||$control" "${mutations[@]}"; do
  IFS='|' read -r name file substitution tests <<<"$entry"
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " =~ " $name " ]]; then continue; fi
  git checkout -q -- .
  if [ "$name" != control ]; then perl -0pi -e "$substitution" "$file"; fi
  if [ "$name" != control ] && git diff --quiet -- "$file"; then
    rows+=("| $name | \`$file\` | not applied (the code moved: update the substitution) | **no** |")
    continue
  fi
  echo "== $name: $(git diff --stat | head -1)" >&2
  if ! npm run --silent build >"$scratch/build.log" 2>&1; then
    rows+=("| $name | \`$file\` | the build fails | yes |")
    continue
  fi
  started=$(date +%s)
  # shellcheck disable=SC2086 # the test list carries vitest options
  CLAUDEAUTH_FAULT_TRIALS=8 npx vitest run $tests >"$scratch/$name.log" 2>&1
  status=$?
  seconds=$(( $(date +%s) - started ))
  failed=$(sed -E 's/\x1b\[[0-9;]*m//g' "$scratch/$name.log" | grep -aoE 'Tests +[^(]*' | tail -1 | sed -E 's/ *\| */, /g; s/ +/ /g; s/ $//')
  if [ "$name" = control ]; then
    if [ "$status" -eq 0 ]; then verdict="passes (as it must)"; else verdict="**fails: the check means nothing**"; fi
  elif [ "$status" -ne 0 ]; then verdict=yes; else verdict="**no**"; fi
  rows+=("| $name | \`${file:-none}\` | \`vitest run $tests\`: exit $status, ${failed:-no summary} (${seconds} s) | $verdict |")
done
git checkout -q -- .

echo
echo "| mutation | file | what the tests said | caught |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
! printf '%s\n' "${rows[@]}" | grep -q '| \*\*'
