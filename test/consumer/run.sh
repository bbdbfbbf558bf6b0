#!/usr/bin/env bash
# npm run test:consumer: packs @oxenmq-ts/runtime and @oxenmq-ts/codegen, follows the README's "Use it in your own
# project" in an empty folder (its files verbatim; the install step from the tarballs, as the packages are not on the
# registry), type-checks as ESM under strict NodeNext and as a CommonJS consumer, then runs the server and both
# clients over CURVE and checks what they print.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  if [ "${KEEP_CONSUMER:-0}" = "1" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false npm_config_loglevel=error
step() { echo "== consumer: $*"; }

step "pack"
(cd "$repo" && npm pack -w runtime -w generator --pack-destination "$work" >/dev/null)
runtime_tgz=$(ls "$work"/oxenmq-ts-runtime-*.tgz)
codegen_tgz=$(ls "$work"/oxenmq-ts-codegen-*.tgz)
ts_version=$(node -p "require('$repo/package.json').devDependencies.typescript")
node_types=$(node -p "require('$repo/package.json').devDependencies['@types/node']")

mkdir "$work/shop"
cd "$work/shop"
step "install (the README's commands, with the tarballs)"
npm init -y >/dev/null
npm pkg set type=module scripts.build="omq-gen && tsc"
npm install "$runtime_tgz" >/dev/null
npm install -D "$codegen_tgz" "typescript@$ts_version" "@types/node@$node_types" >/dev/null
node -e "const p=require('./package.json'); if (p.dependencies['ts-morph']) throw new Error('ts-morph is a runtime dependency')"
[ -d node_modules/ts-morph ] && [ -z "$(node -p "require('./node_modules/@oxenmq-ts/runtime/package.json').dependencies['ts-morph'] ?? ''")" ]

step "the README's files"
node "$repo/test/consumer/extract.mjs" "$repo/README.md" .

step "npm run build (omq-gen from its config, then tsc --strict, NodeNext ESM)"
npm run build --silent
test -f src/generated/shop.ts && test -f dist/server.js && test -f dist/client.js
[ "$(node dist/check.js)" = "in-memory checks passed" ]
npx omq-gen --check >/dev/null
# The published declarations also type-check without skipLibCheck.
npx tsc --noEmit --skipLibCheck false -p .

step "CommonJS consumer"
cp -r "$repo/test/consumer/cjs" cjs
npx tsc -p cjs
grep -q 'require("@oxenmq-ts/runtime")' cjs/dist/client.js

step "run the server and the clients over CURVE"
node dist/server.js > server.out 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" server.out && break; sleep 0.1; done
address=$(sed -n 's/^listening on //p' server.out)
[ -n "$address" ] || { cat server.out; exit 1; }
node dist/client.js "$address" > client.out
node cjs/dist/client.js "$address" > cjs.out
for _ in $(seq 1 50); do grep -q "feedback from" server.out && break; sleep 0.1; done
expected="Green tea: 12500000000000000000 (drink, hot)
order 1: 75000000000000000000
coffee: 404 no item coffee"
if [ "$(cat client.out)" != "$expected" ]; then echo "client printed:"; cat client.out; exit 1; fi
[ "$(cat cjs.out)" = "cjs: 200 Green tea 12500000000000000000" ] || { echo "cjs client printed:"; cat cjs.out; exit 1; }
grep -q "feedback from [0-9a-f]\{64\}: 5 stars, lovely" server.out || { cat server.out; exit 1; }
cat client.out cjs.out
grep "feedback from" server.out

step "sizes"
mkdir "$work/runtime-only" "$work/both"
(cd "$work/runtime-only" && npm init -y >/dev/null && npm install "$runtime_tgz" >/dev/null)
(cd "$work/both" && npm init -y >/dev/null && npm install "$runtime_tgz" "$codegen_tgz" >/dev/null)
echo "packed: $(du -k "$runtime_tgz" | cut -f1) kB runtime, $(du -k "$codegen_tgz" | cut -f1) kB codegen"
echo "installed node_modules: runtime only $(du -sk "$work/runtime-only/node_modules" | cut -f1) kB;" \
  "runtime and code generator $(du -sk "$work/both/node_modules" | cut -f1) kB;" \
  "this project (with TypeScript and @types/node) $(du -sk node_modules | cut -f1) kB"
step "ok"
