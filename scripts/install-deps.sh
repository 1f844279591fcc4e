#!/usr/bin/env bash
# The one list of system packages Tsumugi needs (Debian 12). Idempotent: when every package
# is present it returns at once without touching apt. Called by the Makefile and CI.
#
#   scripts/install-deps.sh            # build, test and run dependencies
#   scripts/install-deps.sh --golden   # also python3-sentencepiece, which only regenerates
#                                      # golden fixtures (tests/golden/)
set -euo pipefail

packages=(
  # toolchain
  g++ clang cmake ninja-build ccache make pkg-config git
  # Qt 6 (annotator): widgets, SQLite driver, charts, tools, translations
  qt6-base-dev qt6-base-dev-tools libqt6sql6-sqlite qt6-charts-dev qt6-tools-dev
  qt6-tools-dev-tools qt6-l10n-tools qt6-translations-l10n libgl-dev
  # training
  libtorch-dev libopenblas0-pthread libgloo-dev
  # tokenizer
  libsentencepiece-dev libsentencepiece0 sentencepiece
  # datastore, formats, CLI
  nlohmann-json3-dev libsqlite3-dev sqlite3 libicu-dev libsodium-dev libre2-dev
  zlib1g-dev libzstd-dev libcurl4-openssl-dev libcli11-dev libspdlog-dev libfmt-dev libsimdjson-dev
  # independent references at test and bench time (tests/golden/llama_ref.py reads what we
  # save; bench_train_step times the same model in plain torch), never at run time
  python3-torch python3-numpy
  # seeing the UI headless; Japanese glyphs
  fonts-noto-cjk xvfb x11-apps imagemagick
)
golden=(python3-sentencepiece)

for arg in "$@"; do
  case "$arg" in
    --golden) packages+=("${golden[@]}") ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

# Node.js + npm provide test-time references (tokenizers, chat templates). A machine may
# already carry a newer Node from elsewhere; Debian's npm would conflict with it, so install
# Debian's only when none is there.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: not root and no sudo; install as root: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
