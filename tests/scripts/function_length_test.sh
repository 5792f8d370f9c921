#!/usr/bin/env bash
# usage: function_length_test.sh SOURCE_DIR
# Proves scripts/function-length can fail: on the fixture it must report the
# 61- and 62-line functions (and not the 60-line one) and exit 1, and pass
# with --max 62.
set -euo pipefail
root=${1:?usage: $0 SOURCE_DIR}
check=$root/scripts/function-length
fixture=$root/tests/scripts/function_length_fixture.cpp

status=0
out=$("$check" --files "$fixture") || status=$?
expected="function_length_fixture.cpp:81: OneOver: 61 lines (max 60)
function_length_fixture.cpp:150: Box::Sum: 62 lines (max 60)"
if [ "$status" -ne 1 ] || [ "$out" != "$expected" ]; then
  printf 'expected exit 1 and:\n%s\ngot exit %s and:\n%s\n' \
    "$expected" "$status" "$out" >&2
  exit 1
fi
if ! out=$("$check" --max 62 --files "$fixture") || [ -n "$out" ]; then
  printf 'with --max 62, expected exit 0 and no output, got:\n%s\n' "$out" >&2
  exit 1
fi
echo "function-length: fixture reported as expected"
