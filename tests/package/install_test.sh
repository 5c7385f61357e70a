#!/usr/bin/env bash
# tests/package/install_test.sh BUILD_DIR SOURCE_DIR VERSION
#
# The Debian package on this machine: builds it from BUILD_DIR (scripts/package.sh --no-build),
# installs it with apt-get, runs `pgsluice --version`, renders the installed man page with groff
# (no warnings allowed), loads the bash completion, and removes the package again. Whatever
# fails, the EXIT trap purges the package, so no /usr/bin/pgsluice is left behind.
# Exits 77 (ctest: skipped) when not root, without apt-get/dpkg, or when this machine already
# has a pgsluice the test would replace.
set -euo pipefail

build_dir=${1:?usage: install_test.sh BUILD_DIR SOURCE_DIR VERSION}
source_dir=${2:?source dir}
version=${3:?version}
skip() {
    echo "SKIP: $*"
    exit 77
}
fail() {
    echo "FAIL: $*"
    exit 1
}

[[ $EUID -eq 0 ]] || skip "installing a package needs root (this runs as uid $EUID)"
command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 ||
    skip "no apt-get/dpkg: not a Debian-like machine"

# One package test per machine at a time, whatever the build tree (other worktrees, other
# ctest runs): the package and /usr/bin/pgsluice are machine-wide.
exec 9>/tmp/pgsluice-package-test.lock
flock -w 300 9 || fail "another package test has held /tmp/pgsluice-package-test.lock for 300 s"

if dpkg-query -W -f='${Status}' pgsluice 2>/dev/null | grep -q 'install ok installed'; then
    skip "the pgsluice package is already installed here; the test would remove it"
fi
[[ ! -e /usr/bin/pgsluice ]] || skip "/usr/bin/pgsluice exists (not from the package): the test would replace it"

work=$(mktemp -d /tmp/pgsluice-package-test.XXXXXX)
installed=0
cleanup() {
    local rc=$?
    if ((installed)) || dpkg-query -W pgsluice >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -q -o DPkg::Lock::Timeout=120 \
            pgsluice >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; rc=1; }
    fi
    if [[ -e /usr/bin/pgsluice ]]; then
        echo "FAIL: /usr/bin/pgsluice is still there after removing the package"
        rc=1
    fi
    rm -rf "$work"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

started=$SECONDS
deb=$("$source_dir/scripts/package.sh" --build-dir "$build_dir" --no-build --no-lintian \
    --output "$work" 2>"$work/package.log") || { cat "$work/package.log"; fail "scripts/package.sh failed"; }
[[ $(basename "$deb") == "pgsluice_${version}_amd64.deb" ]] ||
    fail "the package is $(basename "$deb"), expected pgsluice_${version}_amd64.deb"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for needed in postgresql-client libpq5 libzstd1 liburing2; do
    grep -qE "(^|, )$needed( |,|$)" <<<"$depends" || fail "Depends lacks $needed: $depends"
done

installed=1
(cd "$work" && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=120 "./$(basename "$deb")") >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; fail "apt-get install ./$(basename "$deb") failed"; }

[[ $(command -v pgsluice) == /usr/bin/pgsluice ]] || fail "pgsluice is not /usr/bin/pgsluice after installing"
got=$(/usr/bin/pgsluice --version)
[[ $got == "pgsluice $version" ]] || fail "pgsluice --version says '$got', expected 'pgsluice $version'"
echo "installed: $got"

man_page=/usr/share/man/man1/pgsluice.1.gz
[[ -f $man_page ]] || fail "$man_page is not installed"
warnings=$(zcat "$man_page" | groff -man -ww -z -Tutf8 2>&1)
[[ -z $warnings ]] || fail "groff warns about the installed man page: $warnings"
rendered=$(MANWIDTH=100 man -l "$man_page" 2>&1 | col -b 2>/dev/null || true)
grep -q "pgsluice $version" <<<"$rendered" || fail "man -l $man_page does not show 'pgsluice $version'"
grep -q -- "--split-tables-larger-than" <<<"$rendered" || fail "man -l $man_page lacks the options"

bash --norc -c 'source /usr/share/bash-completion/completions/pgsluice && complete -p pgsluice' \
    >/dev/null || fail "the installed bash completion does not register for pgsluice"
[[ -f /usr/share/zsh/vendor-completions/_pgsluice ]] || fail "the zsh completion is not installed"
for doc in README.md docs/rules.md docs/archive-format.md docs/scheduling.md copyright changelog.gz \
    examples/pgsluice-refresh.service; do
    [[ -f /usr/share/doc/pgsluice/$doc ]] || fail "/usr/share/doc/pgsluice/$doc is not installed"
done

installed=0
DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -q -o DPkg::Lock::Timeout=120 pgsluice \
    >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "apt-get remove pgsluice failed"; }
[[ ! -e /usr/bin/pgsluice ]] || fail "/usr/bin/pgsluice is still there after apt-get remove"
echo "package built, installed, run, rendered and removed in $((SECONDS - started)) s"
