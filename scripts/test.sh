#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite: unit tests and integration tests against a
# real local fleet (real nix, real sshd, a store per host).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const faults = r.testResults.filter((f) => f.name.includes("/test/faults/")).flatMap((f) => f.assertionResults);
  const passed = faults.filter((t) => t.status === "passed").length;
  console.log(`hive fault scenarios: ${faults.length} ran, ${passed} passed`);
  // A test file that fails before any test runs (an import, a top-level throw) counts too.
  const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
  console.log(`hive tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped${broken ? `, ${broken} test files failed to run` : ""}`);
' "$report" || true
exit "$status"
