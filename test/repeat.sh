#!/usr/bin/env bash
# Runs the jest suite N times in a row (default 20), each run under a time limit, and reports runs that failed, that
# hung (killed at the limit), or after which jest did not exit by itself. Not part of `npm test`: `npm run test:repeat`.
# Usage: bash test/repeat.sh [runs] [limit-seconds]
set -u
runs=${1:-20}
limit=${2:-600}
cd "$(dirname "$0")/.."
npm run build --silent || exit 1
out=$(mktemp -d)
failed=0 hung=0 lingered=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  timeout --kill-after=10 "$limit" node --experimental-vm-modules --no-warnings=ExperimentalWarning \
    node_modules/jest/bin/jest.js --ci >"$out/run$i.log" 2>&1
  rc=$?
  secs=$(($(date +%s) - start))
  status=passed
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status=HUNG; hung=$((hung + 1))
  elif [ $rc -ne 0 ]; then status=FAILED; failed=$((failed + 1)); fi
  if grep -q "Jest did not exit" "$out/run$i.log"; then status="$status (jest did not exit by itself)"; lingered=$((lingered + 1)); fi
  echo "run $i: $status in ${secs}s"
  [ "$status" = passed ] || grep -E "^\s+● " "$out/run$i.log" | sort -u | head -5
done
echo "$runs runs: $failed failed, $hung hung, $lingered did not exit by themselves (logs in $out)"
[ $failed -eq 0 ] && [ $hung -eq 0 ] && [ $lingered -eq 0 ]
