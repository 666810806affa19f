# env.sh: shared settings of the Wine test harness; sourced by setup, test and the exec
# wrapper. Override any of them from the environment.

# The Wine prefix the harness owns (a private, throw-away Windows installation).
: "${BUFEV_WINEPREFIX:=${XDG_CACHE_HOME:-$HOME/.cache}/bufev-wine}"
export WINEPREFIX="$BUFEV_WINEPREFIX"
# Quiet Wine: no debug channels, no Mono/Gecko installation prompts, no display needed.
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
unset DISPLAY WAYLAND_DISPLAY
# Wine's 64-bit loader; Debian's /usr/bin/wine is a wrapper that prefers a 32-bit wine.
if [ -z "${BUFEV_WINE:-}" ]; then
	if [ -x /usr/lib/wine/wine64 ]; then
		BUFEV_WINE=/usr/lib/wine/wine64
	else
		BUFEV_WINE=wine
	fi
fi
export BUFEV_WINE
