#!/usr/bin/env bash
# Run the unit and integration tests on the other ansible-core versions we support.
#
#   tools/compat.sh [--prepare | --no-install] [target...] [-- pytest args...]
#
# Targets (default: all of them):
#   2.17   the newest ansible-core 2.17.x (the oldest release meta/runtime.yml declares) on python3.11
#   py312  the newest ansible-core that python3.12 can install, when a working python3.12 exists
# ansible-core 2.19 on python3.11 is what .venv has: `make units integration` tests it.
#
# Each target gets a virtualenv under .build/compat/<target>/ with that ansible-core and
# requirements-test.txt, then runs, from the checkout,
#   <venv>/bin/python -m pytest -p no:cacheprovider <pytest args>
# with the venv's bin/ first on PATH (the harness runs the ansible-playbook beside sys.executable).
# The pytest args default to every test but test_ecosystem.py, on as many xdist workers as there are
# CPUs; `make test` passes a subset, `make compat` the default. Every run upgrades ansible-core within
# the target's range, so "newest" stays true.
#
#   --prepare     only create/upgrade the venvs (no pytest): `make test` does this while .venv is being
#                 built, so that the later run need not wait for pip
#   --no-install  run pytest in the venvs as they are (made by --prepare earlier in the same make run);
#                 a target whose venv is missing or broken is installed as usual
#
# Targets named in $COMPAT_MODULE_PATH_TARGETS (e.g. "2.17") run every local task as a separate module
# process (KEYGUARD_TEST_EXECUTION=module, the way remote hosts run them); the others in-process, the default.
#
# Python interpreters: $COMPAT_PYTHON311 / $COMPAT_PYTHON312 if set, else the first candidate that
# really runs that version: python3.X on PATH, $(pyenv root)/versions/3.X.*/bin/python3.X (newest
# first), /usr/bin/python3.X, /usr/local/bin/python3.X. pyenv shims of non-active versions exist but
# fail, so every candidate is run before it is chosen.
#
# Exit status: 0 when every target that could run passed (a target without its Python is reported
# as SKIPPED, not failed), 1 when a target failed, 2 on a usage or set-up error.
set -euo pipefail

log() { printf '[compat] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 2
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$script_dir/.." && pwd -P)
build_dir=$repo/.build/compat

all_targets=(2.17 py312)
targets=()
mode=run # run | prepare | no-install
# test_ecosystem.py checks the repository's EE files with .venv's ansible-builder (requirements-docs.txt),
# the same whatever ansible-core runs the tests; the compat venvs do not have it.
pytest_args=(-n auto --dist loadgroup tests/unit tests/integration --ignore=tests/integration/test_ecosystem.py)
while [[ $# -gt 0 ]]; do
    case $1 in
    --)
        shift
        [[ $# -gt 0 ]] && pytest_args=("$@")
        break
        ;;
    --prepare) mode=prepare ;;
    --no-install) mode=no-install ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
        exit 0
        ;;
    2.17 | py312) targets+=("$1") ;;
    *) die "unknown target '$1' (known: ${all_targets[*]})" ;;
    esac
    shift
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

# --- interpreters ------------------------------------------------------------------------------
# Print the first candidate that runs as Python <version> with venv and ensurepip; log the others.
find_python() {
    local version=$1 override=$2 candidate root
    local -a candidates=()
    if [[ -n $override ]]; then
        candidates+=("$override")
    else
        if candidate=$(command -v "python$version" 2>/dev/null); then
            candidates+=("$candidate")
        fi
        if root=$(pyenv root 2>/dev/null) && [[ -d $root/versions ]]; then
            while IFS= read -r candidate; do
                candidates+=("$candidate")
            done < <(find "$root/versions" -mindepth 3 -maxdepth 3 -path "*/versions/$version.*/bin/python$version" |
                sort -V -r)
        fi
        candidates+=("/usr/bin/python$version" "/usr/local/bin/python$version")
    fi
    # The chosen interpreter is printed as the real one behind the candidate (not a shim, not a venv's
    # python, e.g. .venv/bin/python3.11 first on PATH under make), so the venv is not rebuilt for nothing.
    local check="import sys, ssl, venv, ensurepip
if sys.version_info[:2] != tuple(map(int, '$version'.split('.'))): sys.exit(1)
print(getattr(sys, '_base_executable', None) or sys.executable)"
    local real
    for candidate in "${candidates[@]}"; do
        [[ -x $candidate ]] || continue
        if real=$("$candidate" -c "$check" 2>/dev/null) && [[ -x $real ]]; then
            printf '%s\n' "$real"
            return 0
        fi
        log "python$version candidate $candidate does not run (a pyenv shim of a non-active version?)"
    done
    return 1
}

# --- one target ---------------------------------------------------------------------------------
test_requirements=$repo/requirements-test.txt

declare -A result_status result_core result_python result_seconds result_path
run_target() {
    local target=$1 python ansible_spec version venv started elapsed core
    case $target in
    2.17) version=3.11 ansible_spec='ansible-core>=2.17,<2.18' python=${COMPAT_PYTHON311:-} ;;
    py312) version=3.12 ansible_spec='ansible-core' python=${COMPAT_PYTHON312:-} ;;
    esac
    result_core[$target]='-'
    result_seconds[$target]=0
    if ! python=$(find_python "$version" "$python"); then
        log "SKIPPED $target: no working python$version on this machine (set COMPAT_PYTHON${version//./}=/path/to/python$version)"
        result_status[$target]="SKIPPED (no working python$version)"
        result_python[$target]='none'
        return 0
    fi
    result_python[$target]=$python
    venv=$build_dir/$target
    started=$SECONDS

    # A venv made by another interpreter (or a broken one) is rebuilt.
    if [[ $(cat "$venv/.base-python" 2>/dev/null) != "$python" ]] || ! "$venv/bin/python" -c '' 2>/dev/null; then
        log "$target: creating $venv with $python"
        rm -rf "$venv"
        "$python" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        printf '%s\n' "$python" >"$venv/.base-python"
    fi
    # --no-install trusts a venv that --prepare finished (its stamp is newer than the requirements).
    if [[ $mode == no-install && $venv/.prepared -nt $test_requirements ]]; then
        log "$target: using the venv as prepared"
    else
        log "$target: installing $ansible_spec (newest allowed) and the test requirements"
        rm -f "$venv/.prepared"
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade \
            "$ansible_spec" -r "$test_requirements"; then
            result_status[$target]='FAILED (pip install)'
            result_seconds[$target]=$((SECONDS - started))
            return 0
        fi
        touch "$venv/.prepared"
    fi
    core=$("$venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')
    result_core[$target]=$core
    # meta/runtime.yml must declare what is tested: a release outside requires_ansible fails the target.
    local declared
    if ! declared=$("$venv/bin/python" - "$repo/meta/runtime.yml" "$core" <<'PY'
import sys
import yaml
from packaging.specifiers import SpecifierSet
declared = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))["requires_ansible"]
print(declared)
sys.exit(0 if sys.argv[2] in SpecifierSet(declared) else 1)
PY
    ); then
        log "$target: ansible-core $core is outside requires_ansible '$declared' of meta/runtime.yml"
        result_status[$target]="FAILED (ansible-core $core outside requires_ansible '$declared')"
        result_seconds[$target]=$((SECONDS - started))
        return 0
    fi
    if [[ $mode == prepare ]]; then
        result_status[$target]=prepared
        result_seconds[$target]=$((SECONDS - started))
        return 0
    fi
    local path=in-process
    [[ " ${COMPAT_MODULE_PATH_TARGETS:-} " == *" $target "* ]] && path="module path"
    result_path[$target]=$path
    log "$target: ansible-core $core on $("$venv/bin/python" -c 'import platform; print(platform.python_version())'); running pytest ($path)"

    local status=0
    (
        cd "$repo"
        # The venv's console scripts (ansible-playbook, ansible-galaxy, ...) before anything else,
        # e.g. the .venv/bin that the Makefile puts first.
        PATH=$venv/bin:$PATH
        export PATH
        unset VIRTUAL_ENV PYTHONPATH
        if [[ $path == "module path" ]]; then
            export KEYGUARD_TEST_EXECUTION=module
        fi
        "$venv/bin/python" -m pytest -p no:cacheprovider "${pytest_args[@]}"
    ) || status=$?
    elapsed=$((SECONDS - started))
    result_seconds[$target]=$elapsed
    if [[ $status -eq 0 ]]; then
        result_status[$target]=passed
    else
        result_status[$target]="FAILED (pytest exit $status)"
    fi
}

total_started=$SECONDS
for target in "${targets[@]}"; do
    run_target "$target"
done

# --- summary --------------------------------------------------------------------------------------
failed=0
printf '\ncompatibility summary (ansible-core 2.19 on python3.11 is tested by make units/integration in .venv)\n'
printf '%-7s %-14s %-6s %-40s %-12s %s\n' target ansible-core secs python tasks result
for target in "${targets[@]}"; do
    printf '%-7s %-14s %-6s %-40s %-12s %s\n' "$target" "${result_core[$target]}" "${result_seconds[$target]}" \
        "${result_python[$target]}" "${result_path[$target]:--}" "${result_status[$target]}"
    [[ ${result_status[$target]} == passed || ${result_status[$target]} == prepared ||
        ${result_status[$target]} == SKIPPED* ]] || failed=1
done
[[ $mode == prepare ]] || printf 'tests: pytest %s\n' "${pytest_args[*]}"
printf 'total: %ss\n' "$((SECONDS - total_started))"
exit "$failed"
