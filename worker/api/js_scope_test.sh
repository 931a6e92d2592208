#!/bin/sh
# The runtime's js/*.js files share one function scope. A top-level function
# declared in two files silently keeps only the later one, so every top-level
# name must be declared once. Fails listing the names declared twice.
set -eu
dupes=$(for f in "$@"; do
  grep -oE '^(async function|function|const|let|class|var) +[A-Za-z_$][A-Za-z0-9_$]*' "$f" |
    awk '{print $NF}' | sort -u | sed "s|\$| $f|"
done | awk '{count[$1]++; files[$1] = files[$1] " " $2} END {for (n in count) if (count[n] > 1) print n ":" files[n]}')
if [ -n "$dupes" ]; then
  echo "top-level names declared in more than one runtime file:"
  echo "$dupes"
  exit 1
fi
echo "ok: $# files, no top-level name declared twice"
