#!/bin/sh
# Installs PySyncObj (Debian package python3-pysyncobj) for the conformance target
# `figure2 conform --target pysyncobj`. Never fails its caller: when it cannot install (not root,
# no apt-get, offline), it prints one line saying what to do and exits 0.
PY=${PYSYNCOBJ_PYTHON:-/usr/bin/python3}

if [ -x "$PY" ] && "$PY" -c 'import pysyncobj' 2>/dev/null; then
  echo "pysyncobj: already installed ($("$PY" -c 'import pysyncobj.version as v; print(v.VERSION)'))"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "pysyncobj: skipped (no apt-get here): install python3-pysyncobj, or 'pip install pysyncobj' for $PY, to run the PySyncObj target"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "pysyncobj: skipped (not root): run 'sudo apt-get install -y python3-pysyncobj' to run the PySyncObj target"
  exit 0
fi
if DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-pysyncobj >/tmp/install-pysyncobj.log 2>&1 \
  || { apt-get update -q >>/tmp/install-pysyncobj.log 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-pysyncobj >>/tmp/install-pysyncobj.log 2>&1; }; then
  echo "pysyncobj: installed ($("$PY" -c 'import pysyncobj.version as v; print(v.VERSION)' 2>/dev/null || echo '?'))"
else
  echo "pysyncobj: skipped (apt-get could not install python3-pysyncobj, offline? see /tmp/install-pysyncobj.log)"
fi
exit 0
