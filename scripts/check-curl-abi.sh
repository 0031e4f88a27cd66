#!/usr/bin/env bash
# Checks Sources/CFlowHTTP/curl_abi.h — flow's own declarations of the libcurl functions, types and constants it
# uses — against the real libcurl header, without installing it: the header is unpacked from Debian's
# libcurl4-openssl-dev package into a temporary folder and scripts/curl_abi_check.c, which _Static_asserts
# every value, is compiled against it. Exit 1 if a value differs, 0 if all agree, 3 if the package cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 777 "$work"   # apt-get download drops to the _apt user
if ! (cd "$work" && apt-get download libcurl4-openssl-dev >/dev/null 2>&1); then
    apt-get update -qq >/dev/null 2>&1 || true
    if ! (cd "$work" && apt-get download libcurl4-openssl-dev >/dev/null 2>&1); then
        echo "check-curl-abi: libcurl4-openssl-dev could not be downloaded; declarations not checked" >&2
        exit 3
    fi
fi
dpkg-deb -x "$work"/libcurl4-openssl-dev_*.deb "$work/root"
header="$(dirname "$(find "$work/root" -name curl.h -path '*/curl/curl.h' | head -1)")"
cc -fsyntax-only -Wall -Werror -I "$(dirname "$header")" scripts/curl_abi_check.c
echo "check-curl-abi: every libcurl declaration in curl_abi.h matches $(grep -m1 'define LIBCURL_VERSION ' "$header/curlver.h" | cut -d'"' -f2)'s header"
