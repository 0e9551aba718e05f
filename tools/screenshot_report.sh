#!/usr/bin/env bash
# Look at a report.html of `ser-keras report` in a real browser (headless Chromium, 1280 px wide):
# check that no image is broken and nothing scrolls sideways, then take screenshots.
#
#   tools/screenshot_report.sh runs/report/report.html [OUT_DIR]
#
# Writes OUT_DIR/screenshot_top.png (1280x2000, the first screen) and OUT_DIR/screenshot_full.png
# (the whole page), default OUT_DIR: the report's folder. Exits 1 when the page scrolls sideways
# or an image did not decode. The check runs a small script in a *copy* of the page (the report
# itself ships no script); Chromium: apt-get install chromium (Debian) or set CHROMIUM=/path.
set -euo pipefail

page=$(realpath "${1:?usage: tools/screenshot_report.sh REPORT.html [OUT_DIR]}")
out=$(realpath "${2:-$(dirname "$page")}")
mkdir -p "$out"
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
[[ -n "$chromium" ]] || { echo "no Chromium found: apt-get install chromium, or set CHROMIUM" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
browse() {  # the flags keep a headless Chromium off the network and out of the user's profile
  "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --hide-scrollbars --user-data-dir="$work/profile" "$@" 2>/dev/null
}

# The check copy: on load, the title says the page's and the viewport's widths, the images and
# how many failed to decode, and the page's height (for the full-page screenshot).
# (No '&' in it: sed would put the matched text there.)
check='<script>window.addEventListener("load",function(){var d=document.documentElement,'
check+='i=Array.prototype.slice.call(document.images),b=i.filter(function(x){return !x.complete||x.naturalWidth===0});'
check+='document.title="CHECK scroll="+d.scrollWidth+" client="+d.clientWidth+" images="+i.length+" broken="'
check+='+b.length+" height="+d.scrollHeight;});</script>'
sed "s#</body>#${check}</body>#" "$page" > "$work/check.html"
title=$(browse --window-size=1280,2000 --virtual-time-budget=10000 --dump-dom "file://$work/check.html" \
        | grep -o "<title>CHECK[^<]*" | sed "s/<title>//" || true)
[[ -n "$title" ]] || { echo "the check page did not report (Chromium failed to load it)" >&2; exit 2; }
echo "$title"
read -r scroll client images broken height < <(echo "$title" | sed -E 's/[a-z]+=//g; s/CHECK //')

browse --window-size=1280,2000 --screenshot="$out/screenshot_top.png" "file://$page"
browse --window-size=1280,"$height" --screenshot="$out/screenshot_full.png" "file://$page"
echo "written: $out/screenshot_top.png, $out/screenshot_full.png (1280 x $height)"

status=0
if (( scroll > client )); then echo "FAIL: the page scrolls sideways ($scroll px wide in $client px)"; status=1; fi
if (( broken > 0 )); then echo "FAIL: $broken of $images images did not decode"; status=1; fi
(( status == 0 )) && echo "ok: no horizontal scroll at 1280 px, $images images decoded"
exit $status
