# Sourced by scripts/demo and scripts/test: a virtual environment with the project's requirements.
# Needs only Python 3.11+ on the machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "${REQUIREMENTS:-requirements.txt}"

# The translations: locale/<language>/LC_MESSAGES/django.po are committed, their compiled .mo never
# (git-ignored, built here so that they are never stale). msgfmt is GNU gettext's.
if compgen -G "locale/*/LC_MESSAGES/django.po" >/dev/null; then
  if ! command -v msgfmt >/dev/null; then
    as_root=()
    [ "$(id -u)" = 0 ] || as_root=(sudo -n)
    if command -v apt-get >/dev/null && "${as_root[@]}" true 2>/dev/null; then
      echo "Installing gettext to compile the translations (apt-get install gettext)..."
      "${as_root[@]}" apt-get update -qq
      DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq gettext >/dev/null
    else
      echo "The translations need GNU gettext's msgfmt: install it (Debian: apt-get install gettext)." >&2
      exit 1
    fi
  fi
  # Only the project's locale/: without --ignore, compilemessages would compile every locale folder
  # of the packages in .venv too. Settings need secrets to load; compiling uses none of them.
  DJANGO_SECRET_KEY=compile-only-secret TELEMETRY_HASH_KEY=compile-only-hash-key \
    .venv/bin/python manage.py compilemessages --ignore=.venv --ignore=node_modules --verbosity 0
fi
