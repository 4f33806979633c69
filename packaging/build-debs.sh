#!/bin/sh
# Build the Debian binary packages chatd and chatc from this workspace.
#
# Usage: packaging/build-debs.sh [OUTDIR]
#
# Writes OUTDIR/chatd_VERSION-1_ARCH.deb and OUTDIR/chatc_VERSION-1_ARCH.deb
# (OUTDIR defaults to target/debian) and prints their paths. Needs cargo,
# dpkg-dev (dpkg-shlibdeps) and binutils (objcopy); honours CARGO_TARGET_DIR
# and SOURCE_DATE_EPOCH (default: the date of the top entry of
# packaging/debian/changelog, as dpkg-buildpackage does), so that two builds
# of the same source give byte-identical packages.
#
# Why dpkg-deb --root-owner-group --build and not cargo-deb or debhelper:
# dpkg-deb comes with every Debian system, so no extra tool is needed; the
# package layout, maintainer scripts and control fields are all written out
# here and in packaging/debian/, where they can be read and reviewed; and the
# result is checked to be lintian-clean. --root-owner-group makes every file
# root:root without fakeroot.
set -eu

for tool in cargo dpkg-deb dpkg-shlibdeps dpkg-parsechangelog objcopy gzip md5sum; do
    command -v "$tool" >/dev/null || {
        echo "build-debs: $tool is missing (apt-get install dpkg-dev binutils)" >&2
        exit 1
    }
done

here=$(cd "$(dirname "$0")/.." && pwd)
src=$here/packaging
out=${1:-$here/target/debian}
mkdir -p "$out"
out=$(cd "$out" && pwd)
target=${CARGO_TARGET_DIR:-$here/target}

umask 022
export LC_ALL=C.UTF-8
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Timestamp)
fi
export SOURCE_DATE_EPOCH

# chatd with --release (opt-level 3: the relay is hot); chatc with the client profile
# (optimised for size: see Cargo.toml), in a build of its own so that it gets only the
# features it asks for (no TLS 1.2 code, which chatd's rustls has).
echo "build-debs: cargo build --release -p chatd; cargo build --profile client -p chatc" >&2
(cd "$here" && cargo build --release --locked -p chatd &&
    cargo build --profile client --locked -p chatc)

version=$(cd "$here" && cargo pkgid -p chatd | sed 's/.*[#@]//')
debversion=$version-1
arch=$(dpkg --print-architecture)
changelog_version=$(sed -n '1s/^chatd (\([^)]*\)).*/\1/p' "$src/debian/changelog")
if [ "$changelog_version" != "$debversion" ]; then
    echo "build-debs: packaging/debian/changelog is at $changelog_version," \
        "the crates at $version: add a changelog entry for $debversion" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# Print the Depends: value for the given binaries, as dpkg-shlibdeps
# computes it from the shared libraries they link (e.g. libc6 (>= 2.34)).
shlib_depends() {
    mkdir -p "$work/shlibs/debian"
    printf 'Source: chatd\n\nPackage: chatd\nArchitecture: any\n' \
        >"$work/shlibs/debian/control"
    (cd "$work/shlibs" && dpkg-shlibdeps -O "$@" 2>/dev/null) |
        sed -n 's/^shlibs:Depends=//p'
}

# Print Installed-Size the way dpkg-gencontrol counts it: KiB per file,
# rounded up, and one for each directory or symlink.
installed_size() {
    find "$1" -path "$1/DEBIAN" -prune -o -printf '%y %s\n' |
        awk '$1 == "f" { kib += int(($2 + 1023) / 1024); next }
             { kib += 1 }
             END { print kib }'
}

# Install a binary built with profile $3 (release or client). Both profiles
# strip symbols; the .comment section (compiler versions) is dropped too, as
# dh_strip does.
install_bin() {
    install -D -m 0755 "$target/$3/$1" "$2"
    objcopy --remove-section=.comment "$2"
}

# Install the documentation and lintian overrides every package carries.
install_doc() {
    root=$1 pkg=$2
    install -D -m 0644 "$src/debian/copyright" "$root/usr/share/doc/$pkg/copyright"
    gzip -9n <"$src/debian/changelog" >"$root/usr/share/doc/$pkg/changelog.Debian.gz"
    chmod 0644 "$root/usr/share/doc/$pkg/changelog.Debian.gz"
    install -D -m 0644 "$src/debian/$pkg.lintian-overrides" \
        "$root/usr/share/lintian/overrides/$pkg"
}

# Install a manual page compressed, as policy asks.
install_man() {
    root=$1 page=$2 section=${2##*.}
    mkdir -p "$root/usr/share/man/man$section"
    gzip -9n <"$here/man/$page" >"$root/usr/share/man/man$section/$page.gz"
    chmod 0644 "$root/usr/share/man/man$section/$page.gz"
}

# Fill in DEBIAN/control from its template, set times, build the .deb.
finish() {
    root=$1 pkg=$2 binary=$3
    depends=$(shlib_depends "$binary")
    if [ -z "$depends" ]; then
        echo "build-debs: dpkg-shlibdeps found no dependencies for $binary" >&2
        exit 1
    fi
    mkdir -p "$root/DEBIAN"
    sed -e "s/@VERSION@/$debversion/" -e "s/@ARCH@/$arch/" \
        -e "s/@DEPENDS@/$depends/" \
        -e "s/@INSTALLED_SIZE@/$(installed_size "$root")/" \
        "$src/debian/$pkg.control" >"$root/DEBIAN/control"
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
        sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
    chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
    find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    deb=$out/${pkg}_${debversion}_$arch.deb
    dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
    echo "$deb"
}

# chatd: the server, its units, its defaults file and maintainer scripts.
root=$work/chatd
install_bin chatd "$root/usr/sbin/chatd" release
install -D -m 0644 "$here/systemd/chatd.service" "$root/usr/lib/systemd/system/chatd.service"
install -D -m 0644 "$here/systemd/chatd.socket" "$root/usr/lib/systemd/system/chatd.socket"
install -D -m 0644 "$here/systemd/chatd-irc.socket" "$root/usr/lib/systemd/system/chatd-irc.socket"
install -D -m 0644 "$here/systemd/chatd-tls.socket" "$root/usr/lib/systemd/system/chatd-tls.socket"
install -D -m 0644 "$here/systemd/chatd-irc-tls.socket" "$root/usr/lib/systemd/system/chatd-irc-tls.socket"
install -D -m 0644 "$src/default/chatd" "$root/etc/default/chatd"
install -D -m 0644 "$src/fail2ban/chatd.conf" "$root/etc/fail2ban/filter.d/chatd.conf"
install_man "$root" chatd.8
install_man "$root" chatd-protocol.7
install_doc "$root" chatd
mkdir -p "$root/DEBIAN"
for script in postinst prerm postrm; do
    install -m 0755 "$src/debian/chatd.$script" "$root/DEBIAN/$script"
done
printf '/etc/default/chatd\n/etc/fail2ban/filter.d/chatd.conf\n' >"$root/DEBIAN/conffiles"
chmod 0644 "$root/DEBIAN/conffiles"
finish "$root" chatd "$root/usr/sbin/chatd"

# chatc: the client.
root=$work/chatc
install_bin chatc "$root/usr/bin/chatc" client
install_man "$root" chatc.1
install_doc "$root" chatc
finish "$root" chatc "$root/usr/bin/chatc"
