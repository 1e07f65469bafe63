#!/bin/sh
# Installs what the third-party conformance targets need beyond npm (run by `npm ci` as postinstall,
# or by hand: `npm run targets:install`). @markwylde/liferaft is an npm dependency and needs nothing
# here. PySyncObj is a Debian package: installed when root and apt-get can reach Debian, otherwise
# one line says how. Never fails the install.
cd "$(dirname "$0")/.." || exit 0
sh scripts/install-pysyncobj.sh || true
exit 0
