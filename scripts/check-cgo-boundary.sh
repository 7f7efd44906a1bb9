#!/usr/bin/env bash
# Enforces the cgo boundary (STYLE.md habit 1): only package pmd imports
# "C", and unsafe appears only in files named *_unsafe.go.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
	case "$f" in
	pmd/*_unsafe.go) ;;
	*) echo "cgo outside pmd/*_unsafe.go: $f"; bad=1 ;;
	esac
done < <(git grep -l '^import "C"' -- '*.go' || true)
while IFS= read -r f; do
	case "$f" in
	*_unsafe.go | *_unsafe_test.go) ;;
	*) echo "unsafe outside *_unsafe.go: $f"; bad=1 ;;
	esac
done < <(git grep -lE '^\s*"unsafe"$' -- '*.go' || true)
exit $bad
