#!/bin/sh
# Put CrossID Desktop into the current user's applications menu (freedesktop.org desktops):
# the desktop entry, pointing at the crossid-desktop beside this script, and the icon in every
# size. "--uninstall" removes both. Nothing outside ${XDG_DATA_HOME:-~/.local/share} is touched.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
entry="$data/applications/crossid-desktop.desktop"
if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$entry" "$data"/icons/hicolor/*/apps/crossid-desktop.png
    echo "removed $entry and the crossid-desktop icons"
    exit 0
fi
mkdir -p "$data/applications"
sed -e "s|^Exec=crossid-desktop|Exec=\"$here/crossid-desktop\"|" -e "s|^TryExec=crossid-desktop|TryExec=$here/crossid-desktop|" \
    "$here/share/applications/crossid-desktop.desktop" > "$entry"
for png in "$here"/share/icons/hicolor/*/apps/crossid-desktop.png; do
    size=$(basename "$(dirname "$(dirname "$png")")")
    mkdir -p "$data/icons/hicolor/$size/apps"
    cp "$png" "$data/icons/hicolor/$size/apps/crossid-desktop.png"
done
if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database "$data/applications" || true; fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then gtk-update-icon-cache -q -t "$data/icons/hicolor" || true; fi
echo "installed $entry (Exec: $here/crossid-desktop)"
