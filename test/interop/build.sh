#!/usr/bin/env bash
# Builds C++ OxenMQ 1.2.16 (from the project's shared interop sources) and our C++ test peer into a folder outside
# the repo, for the interop suite (npm run test:interop). Prints the peer binary's path on its last line.
#
#   OXENMQ_INTEROP_SRC    folder with oxen-mq-*.tar.gz and oxen-encoding-*.tar.gz
#                         (default: ../shared/interop next to the repo, then /work/shared/interop)
#   OXENMQ_INTEROP_BUILD  build folder (default: $TMPDIR/oxenmq-interop-<hash of sources and peer>)
#
# Needs: g++, cmake, make, pkg-config, libzmq3-dev, libsodium-dev, cppzmq-dev (Debian package names).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

src="${OXENMQ_INTEROP_SRC:-}"
if [ -z "$src" ]; then
  for d in "$repo/../shared/interop" /work/shared/interop; do
    if compgen -G "$d/oxen-mq-*.tar.gz" >/dev/null; then src="$d"; break; fi
  done
fi
if [ -z "$src" ] || ! compgen -G "$src/oxen-mq-*.tar.gz" >/dev/null; then
  echo "interop: C++ OxenMQ sources not found (set OXENMQ_INTEROP_SRC)" >&2
  exit 3
fi
for tool in g++ cmake make pkg-config; do
  command -v "$tool" >/dev/null || { echo "interop: '$tool' is not installed" >&2; exit 3; }
done
for pc in libzmq libsodium; do
  pkg-config --exists "$pc" || { echo "interop: pkg-config cannot find $pc (install libzmq3-dev libsodium-dev)" >&2; exit 3; }
done
[ -f /usr/include/zmq.hpp ] || { echo "interop: /usr/include/zmq.hpp missing (install cppzmq-dev)" >&2; exit 3; }

mq_tar=$(ls "$src"/oxen-mq-*.tar.gz | head -1)
enc_tar=$(ls "$src"/oxen-encoding-*.tar.gz | head -1)
lib_hash=$(cat "$mq_tar" "$enc_tar" | sha256sum | cut -c1-16)
peer_hash=$(cat "$here/peer.cpp" "$0" | sha256sum | cut -c1-16)
work="${OXENMQ_INTEROP_BUILD:-${TMPDIR:-/tmp}/oxenmq-interop-$lib_hash}"
peer="$work/omq-peer-$peer_hash"
if [ -x "$peer" ]; then echo "$peer"; exit 0; fi

mkdir -p "$work"
if [ ! -f "$work/inst/lib/liboxenmq.so" ] && [ ! -f "$work/inst/lib64/liboxenmq.so" ]; then
  rm -rf "$work/oxen-mq" "$work/build"
  tar -xzf "$mq_tar" -C "$work"
  tar -xzf "$enc_tar" -C "$work/oxen-mq"
  cp /usr/include/zmq.hpp "$work/oxen-mq/cppzmq/"
  cmake -S "$work/oxen-mq" -B "$work/build" -DBUILD_SHARED_LIBS=ON -DOXENMQ_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=Release -DWARNINGS_AS_ERRORS=OFF -DCMAKE_INSTALL_PREFIX="$work/inst" >"$work/cmake.log" 2>&1 \
    || { tail -30 "$work/cmake.log" >&2; exit 1; }
  make -C "$work/build" -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -30 "$work/make.log" >&2; exit 1; }
  make -C "$work/build" install >>"$work/make.log" 2>&1 || { tail -30 "$work/make.log" >&2; exit 1; }
fi
lib="$work/inst/lib"; [ -d "$lib" ] || lib="$work/inst/lib64"
g++ -std=c++17 -O2 "$here/peer.cpp" -o "$peer.tmp" -I"$work/inst/include" -I"$work/oxen-mq/oxen-encoding" \
  -L"$lib" -loxenmq -lsodium -lzmq -lpthread -Wl,-rpath,"$lib"
mv "$peer.tmp" "$peer"
echo "$peer"
