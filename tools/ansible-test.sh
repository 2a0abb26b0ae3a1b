#!/usr/bin/env bash
# Run ansible-test on this checkout, offline, in ansible-test managed virtualenvs.
#
#   tools/ansible-test.sh sanity [args...]
#   tools/ansible-test.sh units [args...]
#   tools/ansible-test.sh integration [args...]
#
# runs `ansible-test <args> --venv --python 3.11` (each added only if not given already; `--color no`
# too unless stdout is a terminal) after:
#   1. copying the files git knows about (tracked and untracked-but-not-ignored, minus files deleted
#      from the worktree) into .build/ansible-test/ansible_collections/<namespace>/<name>, because
#      ansible-test needs the tree at a path ending in ansible_collections/<namespace>/<name> and does
#      not accept a symlink to the checkout; the copy gets its own `git init` + `git add` so that
#      ansible-test tests exactly those files (it asks git for the file list);
#   2. making sure ~/.ansible/test/cache/get_pip_<pip version>.py exists: ansible-test's --venv
#      bootstraps pip with a get-pip.py downloaded from a host that is unreachable here, unless that
#      cached copy exists. The stand-in written here installs pip with ensurepip, then the requested
#      pip version from the configured package index.
# Results land in the copy's tests/output/. The exit status is ansible-test's.
set -euo pipefail

log() { printf '[ansible-test.sh] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 2
}

if [[ $# -eq 0 ]]; then
    die "usage: $0 sanity|units|integration|... [ansible-test args...]"
fi

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(git -C "$script_dir" rev-parse --show-toplevel)

# --- ansible-test and the Python it runs on ----------------------------------------------------
if [[ -x $repo/.venv/bin/ansible-test ]]; then
    ansible_test=$repo/.venv/bin/ansible-test
elif ansible_test=$(command -v ansible-test); then
    :
else
    die "ansible-test not found: run 'make venv' (builds $repo/.venv) or put ansible-test on PATH"
fi
# The interpreter from ansible-test's shebang (e.g. ".../python3" or "/usr/bin/env python3"); pip
# writes "#!/bin/sh" plus an exec line instead when that path is long: then use the python beside it.
read -r shebang <"$ansible_test" || true
read -r -a controller_python <<<"${shebang#'#!'}"
if [[ $shebang != '#!'* || ${controller_python[*]} != *python* ]]; then
    controller_python=("$(dirname "$ansible_test")/python3")
    [[ -x ${controller_python[0]} ]] || die "cannot find the Python interpreter of $ansible_test"
fi

# --- the ansible-test command line -------------------------------------------------------------
args=("$@")
has_arg() {
    local want arg
    for arg in "${args[@]}"; do
        for want in "$@"; do
            [[ $arg == "$want" || $arg == "$want="* ]] && return 0
        done
    done
    return 1
}
# Only add --venv if no other environment was chosen.
if ! has_arg --venv --docker --remote --local --controller --target --target-posix --target-windows --target-network; then
    args+=(--venv)
fi
has_arg --python || args+=(--python 3.11)
if ! has_arg --color && [[ ! -t 1 ]]; then
    args+=(--color no)
fi

# --- offline stand-in for ansible-test's pip bootstrap script -----------------------------------
# ansible_test._util.target.setup.requirements.bootstrap() looks for
# ~/.ansible/test/cache/get_pip_<pip version, dots as underscores>.py and runs it (through quiet_pip.py
# with GET_PIP=<that file>) as: python <it> --disable-pip-version-check pip==<version> --no-setuptools --no-wheel
# Ask the installed ansible-test which pip version(s) it pins (per Python version).
pip_versions=$(
    cd / && "${controller_python[@]}" - <<'EOF'
import types

from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS
from ansible_test._internal.python_requirements import get_venv_packages

versions = {get_venv_packages(types.SimpleNamespace(version=v))["pip"] for v in SUPPORTED_PYTHON_VERSIONS}
print("\n".join(sorted(versions)))
EOF
) || pip_versions=
if [[ ! $pip_versions =~ ^[0-9][0-9A-Za-z.]*($'\n'[0-9][0-9A-Za-z.]*)*$ ]]; then
    # Fallback: the default pin in ansible_test's source, e.g. `pip='24.2',`.
    requirements_py=$(cd / && "${controller_python[@]}" -c \
        'import ansible_test._internal.python_requirements as m; print(m.__file__)' 2>/dev/null) || true
    pip_versions=$(sed -nE "s/^[[:space:]]*pip='([0-9][0-9A-Za-z.]*)',?\$/\1/p" "${requirements_py:-/dev/null}" | head -n 1)
fi
[[ -n $pip_versions ]] || die "cannot tell which pip version ansible-test bootstraps"

cache_dir=$HOME/.ansible/test/cache
marker='Offline stand-in for get-pip.py, written by tools/ansible-test.sh'
get_pip_text=$(
    cat <<EOF
"""$marker (keyguard.aws).

ansible-test runs this file in a new virtualenv that has no pip, with arguments such as
"--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel". The real get-pip.py
comes from a host that is not reachable here, so: install the pip bundled with Python (ensurepip,
no network), then install the requested packages with it from the configured package index.
"""

import subprocess
import sys

GET_PIP_OPTIONS = {"--no-setuptools", "--no-wheel", "--no-pip"}


def run(*args: str) -> None:
    """Run python -m <args> and exit with its status if it fails."""
    status = subprocess.call([sys.executable, "-m", *args])  # noqa: S603 - fixed interpreter and arguments
    if status:
        sys.exit(status)


def main() -> None:
    """Install pip, then the requested packages."""
    options = sys.argv[1:]
    run("ensurepip", "--upgrade", "--default-pip")
    if "--no-setuptools" in options:
        # ensurepip on Python < 3.12 also installs setuptools; get-pip.py would not.
        run("pip", "uninstall", "--yes", "--quiet", "setuptools")
    run("pip", "install", *[option for option in options if option not in GET_PIP_OPTIONS])


if __name__ == "__main__":
    main()
EOF
)
for pip_version in $pip_versions; do
    get_pip=$cache_dir/get_pip_${pip_version//./_}.py
    # Write it if missing, or if it is an older stand-in of ours; leave a real get-pip.py alone.
    if [[ ! -e $get_pip ]] || { grep -qF "$marker" "$get_pip" && [[ $(<"$get_pip") != "$get_pip_text" ]]; }; then
        mkdir -p "$cache_dir"
        printf '%s\n' "$get_pip_text" >"$get_pip.tmp.$$"
        mv -f "$get_pip.tmp.$$" "$get_pip"
        log "wrote pip $pip_version bootstrap stand-in: $get_pip"
    elif grep -qF "$marker" "$get_pip"; then
        log "using pip $pip_version bootstrap stand-in: $get_pip"
    else
        log "using existing pip $pip_version bootstrap script: $get_pip"
    fi
done

# --- copy the tree to .../ansible_collections/<namespace>/<name> -------------------------------
galaxy_value() { sed -nE "s/^$1:[[:space:]]*['\"]?([A-Za-z0-9_]+)['\"]?[[:space:]]*(#.*)?\$/\1/p" "$repo/galaxy.yml" | head -n 1; }
namespace=$(galaxy_value namespace)
name=$(galaxy_value name)
[[ -n $namespace && -n $name ]] || die "cannot read namespace and name from $repo/galaxy.yml"

build_root=$repo/.build/ansible-test
collection_dir=$build_root/ansible_collections/$namespace/$name
# One run at a time per checkout: each run wipes and refills the copy.
mkdir -p "$repo/.build"
if command -v flock >/dev/null; then
    exec 9>"$repo/.build/ansible-test.lock"
    if ! flock --nonblock 9; then
        log "waiting for another tools/ansible-test.sh run on this checkout to finish..."
        flock 9
    fi
fi
rm -rf "$build_root"
mkdir -p "$collection_dir"
file_list=$build_root/files.list
git -C "$repo" ls-files -z --cached --others --exclude-standard >"$file_list"
files=()
while IFS= read -r -d '' path; do
    # Skip files deleted from the worktree, and directories (submodules).
    if [[ -L $repo/$path || -f $repo/$path ]]; then
        files+=("$path")
    fi
done < <(sort -zu "$file_list")
if [[ ${#files[@]} -gt 0 ]]; then
    (cd "$repo" && printf '%s\0' "${files[@]}" | tar --create --file - --null --no-recursion --files-from -) |
        tar --extract --file - --directory "$collection_dir"
fi
count=${#files[@]}
# ansible-test lists the files to test with git when it finds a .git directory, walking up from the
# collection: without one here it would find <repo>/.git, where .build/ is ignored, and test nothing.
# So make the copy its own git repository with exactly the copied files in its index.
git -C "$collection_dir" init --quiet
if [[ $count -gt 0 ]]; then
    printf '%s\0' "${files[@]}" |
        git -C "$collection_dir" add --force --pathspec-from-file=- --pathspec-file-nul
fi
log "copied $count files from $repo to $collection_dir"

# --- run ---------------------------------------------------------------------------------------
cd "$collection_dir"
log "running in $collection_dir:"
log "  $(printf '%q ' "$ansible_test" "${args[@]}")"
status=0
"$ansible_test" "${args[@]}" 9>&- || status=$?
if [[ $status -eq 0 ]]; then
    log "ansible-test ${args[0]} passed (exit status 0); output in $collection_dir/tests/output"
else
    log "ansible-test ${args[0]} FAILED (exit status $status); output in $collection_dir/tests/output"
fi
exit "$status"
