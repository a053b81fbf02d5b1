# shellcheck shell=bash
# Debian's Chromium and its WebDriver, for the console's browser tests (Playwright's own
# browser downloads are not reachable from these machines).
#   browser_ensure_installed → chromium and chromium-driver from Debian (idempotent);
#                              they come from one source package, so their versions
#                              always match, and the check below says so.

browser_ensure_installed() {
    if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
        echo "chromium and chromium-driver missing; installing them" >&2
        local sudo=()
        [ "$(id -u)" = 0 ] || sudo=(sudo)
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
            chromium chromium-driver >&2 ||
            { "${sudo[@]}" apt-get update -q >&2 &&
                DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q \
                    --no-install-recommends chromium chromium-driver >&2; }
    fi
    local browser driver
    browser=$(/usr/bin/chromium --version | grep -oE '[0-9]+(\.[0-9]+){3}')
    driver=$(/usr/bin/chromedriver --version | grep -oE '[0-9]+(\.[0-9]+){3}')
    if [ "$browser" != "$driver" ]; then
        echo "chromium $browser and chromedriver $driver differ: install both from one Debian release" >&2
        return 1
    fi
    echo "chromium and chromedriver $browser"
}
