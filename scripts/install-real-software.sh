#!/usr/bin/env bash
# Installs the real filter and directory software from Debian that tests/realsoftware drives on
# 127.0.0.1: squid, squidGuard, e2guardian, samba (AD DC: with its provisioning files, DSDB
# modules and winbind), smbclient, ldb-tools, curl and
# apache2-utils (htpasswd, for squid's basic_ncsa_auth). Idempotent: does nothing when every
# package is already installed. Services are never started or enabled by the install: a
# policy-rc.d that refuses every start is in place for the duration of apt-get (e2guardian pulls in
# clamav-daemon and clamav-freshclam, whose daemons must not run here), and the tests start their
# own instances in temporary folders.
set -euo pipefail

packages=(squid squidguard e2guardian samba samba-ad-provision samba-dsdb-modules samba-vfs-modules
  winbind smbclient ldb-tools curl apache2-utils)

installed() {
  dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

need=()
for p in "${packages[@]}"; do
  installed "$p" || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
  echo "real software already installed:"
  dpkg-query -W "${packages[@]}"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing ${need[*]}: run as root (apt-get install ${need[*]})" >&2
  exit 1
fi

# Refuse service starts while installing (Debian's documented mechanism: invoke-rc.d and
# deb-systemd-invoke ask /usr/sbin/policy-rc.d; exit status 101 means "action forbidden"). A
# policy already in place that refuses is kept; any other is set aside and put back afterwards.
policy=/usr/sbin/policy-rc.d
backup="$policy.safeguard-backup"
own_policy=0
if [ -e "$policy" ]; then
  status=0
  "$policy" clamav-daemon start >/dev/null 2>&1 || status=$?
  if [ "$status" -ne 101 ]; then
    mv "$policy" "$backup"
    own_policy=1
  fi
else
  own_policy=1
fi
if [ "$own_policy" -eq 1 ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
fi
cleanup() {
  if [ "$own_policy" -eq 1 ]; then
    rm -f "$policy"
    if [ -e "$backup" ]; then mv "$backup" "$policy"; fi
  fi
}
trap cleanup EXIT

echo "installing ${need[*]} from Debian"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${need[@]}" >/dev/null

# On a machine booted with systemd the packages' units were enabled for the next boot: these
# services are for tests only, which start their own instances, so disable the ones this run
# installed (clamav's daemons come with e2guardian).
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  units=()
  for p in "${need[@]}"; do
    case "$p" in
      e2guardian) units+=(e2guardian clamav-daemon clamav-freshclam) ;;
      squid) units+=(squid) ;;
      samba) units+=(smbd nmbd samba-ad-dc) ;;
      winbind) units+=(winbind) ;;
    esac
  done
  if [ ${#units[@]} -gt 0 ]; then
    systemctl disable --now "${units[@]}" >/dev/null 2>&1 || true
  fi
fi
for daemon in clamd freshclam squid e2guardian samba smbd nmbd winbindd; do
  if pgrep -x "$daemon" >/dev/null 2>&1; then
    echo "note: a $daemon process is running; the tests start their own instances" >&2
  fi
done

echo "installed:"
dpkg-query -W "${need[@]}"
