#!/usr/bin/env bash
# Refresh the message catalogues after changing user-visible text:
#   scripts/translations.sh          extract, update ja, compile
# Then translate the new or fuzzy entries in portal/translations/ja/LC_MESSAGES/messages.po
# and run it again to compile. tests/test_i18n.py fails while any entry is missing or fuzzy.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-pybabel}
"$PYBABEL" extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -k lazy_ngettext:1,2 \
  -k pgettext:1c,2 -k lazy_pgettext:1c,2 -k npgettext:1c,2,3 \
  --no-location --sort-output --project "LINK-J Partner Portal" \
  -o portal/translations/messages.pot .
if [ -f portal/translations/ja/LC_MESSAGES/messages.po ]; then
  "$PYBABEL" update -i portal/translations/messages.pot -d portal/translations -l ja \
    --ignore-obsolete --no-fuzzy-matching 
else
  "$PYBABEL" init -i portal/translations/messages.pot -d portal/translations -l ja
fi
"$PYBABEL" compile -d portal/translations --statistics
