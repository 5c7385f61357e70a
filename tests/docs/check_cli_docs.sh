#!/usr/bin/env bash
# tests/docs/check_cli_docs.sh PGSLUICE MAN_PAGE SOURCE_DIR
#
# Keeps the man page and the shell completions in step with the program: every command and
# every option `PGSLUICE CMD --help` prints must be in the command's SYNOPSIS block of the man
# page and described under OPTIONS; every environment variable the code reads must be under
# ENVIRONMENT; the bash completion (run for real) and the zsh completion (run with _arguments
# stubbed, when zsh is installed) must offer exactly each command's options, and the values of
# every option whose --help lists them (a|b|c, zstd:LEVEL (1-19)). Prints one line per problem,
# naming the command and option, and exits 1 if there is any.
set -uo pipefail

pgsluice=${1:?usage: check_cli_docs.sh PGSLUICE MAN_PAGE SOURCE_DIR}
man_page=${2:?man page}
source_dir=${3:?source dir}
problems=0
problem() {
    printf 'FAIL: %s\n' "$*"
    problems=$((problems + 1))
}

# The man page as plain text lines: roff's \- as -, font changes removed.
man_text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(aq/'"'"'/g' "$man_page") ||
    { echo "cannot read $man_page"; exit 1; }

# `--help` of a command (or of the program, with no argument), read once per command.
declare -A help_texts
help_of() {
    local key=${1:-pgsluice}
    if [[ -z ${help_texts[$key]+set} ]]; then
        help_texts[$key]=$("$pgsluice" "$@" --help) || { echo "FAIL: $pgsluice $* --help failed"; exit 1; }
    fi
    printf '%s\n' "${help_texts[$key]}"
}
help_of >/dev/null

mapfile -t commands < <(help_of | awk '/^Subcommands:/ {f = 1; next} f && /^  [a-z]/ {print $1}')
for command in "${commands[@]}"; do help_of "$command" >/dev/null; done
((${#commands[@]} >= 6)) || { echo "FAIL: $pgsluice --help lists ${#commands[@]} commands"; exit 1; }

# The option names (-j, --jobs, ...) of a command's --help, one per line.
options_of() {
    help_of "$@" | awk '/^  -/ {n = split($1, names, ","); for (i = 1; i <= n; i++) print names[i]}' |
        sort -u
}

# Values the --help of `option` lists for command $1, one per line: "a|b|c" in the description,
# or zstd and zstd:MIN..zstd:MAX for "zstd:LEVEL (MIN-MAX)". Nothing when it lists none.
values_of() {
    local line
    # The option's line and the description lines under it (indented further).
    line=$(help_of "$1" | awk -v opt="$2" '
        f && /^      *[^ ]/ {print; next}
        {f = 0}
        /^  -/ {n = split($1, names, ","); for (i = 1; i <= n; i++) if (names[i] == opt) {f = 1; print}}' |
        tr '\n' ' ')
    if [[ $line =~ zstd:LEVEL\ \(([0-9]+)-([0-9]+)\) ]]; then
        echo zstd
        seq -f 'zstd:%g' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    else
        grep -oE '[a-z]+(\|[a-z]+)+' <<<"${line#*  "$2"}" | head -1 | tr '|' '\n'
    fi
}

# --- man page ---------------------------------------------------------------------------------
# The .SY block of "pgsluice CMD", up to .YS.
synopsis_of() {
    awk -v want="$1" '/^\.SY / {s = $0; sub(/^\.SY "?/, "", s); sub(/"$/, "", s); f = (s == want); next}
                      /^\.YS/ {f = 0} f' <<<"$man_text"
}
selection_paragraph=$(awk '/^where$/ {f = 1} f && /^\.SH/ {exit} f' <<<"$man_text")
described=$(awk 'prev == ".TP" {print} {prev = $0}' <<<"$man_text")
has_word() { grep -qE -- "(^|[^a-zA-Z-])$2([^a-zA-Z-]|\$)" <<<"$1"; }

for command in "${commands[@]}"; do
    block=$(synopsis_of "pgsluice $command")
    [[ -n $block ]] || { problem "man page: no SYNOPSIS block (.SY \"pgsluice $command\") for command $command"; continue; }
    has_word "$(awk '/^\.SH COMMANDS/ {f = 1; next} /^\.SH/ {f = 0} f' <<<"$man_text")" "$command" ||
        problem "man page: command $command is not under COMMANDS"
    mapfile -t options < <(options_of "$command")
    for option in "${options[@]}"; do
        [[ $option == -h || $option == --help ]] && continue  # "every command takes -h|--help"
        if ! has_word "$block" "$option"; then
            if ! { has_word "$block" selection && has_word "$selection_paragraph" "$option"; }; then
                problem "man page: $command option $option is missing from the SYNOPSIS of $command"
            fi
        fi
        if [[ $option == --* ]] && ! has_word "$described" "$option"; then
            problem "man page: option $option ($command) has no description under OPTIONS (.TP)"
        fi
    done
    # And nothing in the synopsis that the command does not take.
    for option in $(grep -oE -- '(^|[^a-zA-Z-])--?[a-zA-Z][a-zA-Z-]*' <<<"$block" | grep -oE -- '--?[a-zA-Z][a-zA-Z-]*' | sort -u); do
        grep -qxF -- "$option" <<<"$(printf '%s\n' "${options[@]}")" ||
            problem "man page: the SYNOPSIS of $command shows $option, which pgsluice $command does not take"
    done
done
for option in --version --help; do
    has_word "$(synopsis_of pgsluice)" "$option" || problem "man page: pgsluice $option is missing from the SYNOPSIS"
done

environment=$(awk '/^\.SH ENVIRONMENT/ {f = 1; next} /^\.SH/ {f = 0} f' <<<"$man_text")
for variable in $(grep -rhoE '(getenv|envname)\("[A-Z_]+"\)' "$source_dir/src" | grep -oE '[A-Z_]{2,}' | sort -u); do
    has_word "$environment" "$variable" || problem "man page: environment variable $variable (read in src/) is not under ENVIRONMENT"
done

# --- bash completion --------------------------------------------------------------------------
# What the bash completion offers for the words "$@" (the last one being completed).
bash_complete() {
    bash --norc -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _pgsluice
                    printf "%s\n" "${COMPREPLY[@]}"' _ "$source_dir/completions/pgsluice.bash" "$@" |
        sort -u
}
# Reports what `expected` (lines) has that `actual` lacks and the reverse, in words "$3".
compare_sets() {
    local expected=$1 actual=$2 what=$3 item
    for item in $(comm -23 <(sort -u <<<"$expected") <(sort -u <<<"$actual")); do
        problem "$what: $item is missing"
    done
    for item in $(comm -13 <(sort -u <<<"$expected") <(sort -u <<<"$actual")); do
        problem "$what: offers $item, which pgsluice does not have"
    done
}

bash -n "$source_dir/completions/pgsluice.bash" || { echo "FAIL: bash completion: syntax error"; exit 1; }
compare_sets "$(printf '%s\n' "${commands[@]}" $(options_of))" "$(bash_complete pgsluice '')" \
    "bash completion of commands"
for command in "${commands[@]}"; do
    compare_sets "$(options_of "$command")" "$(bash_complete pgsluice "$command" -)" \
        "bash completion of pgsluice $command options"
    for option in $(options_of "$command" | grep -- '^--'); do
        values=$(values_of "$command" "$option")
        [[ -n $values ]] || continue
        compare_sets "$values" "$(bash_complete pgsluice "$command" "$option" '')" \
            "bash completion of pgsluice $command $option values"
        compare_sets "$values" "$(bash_complete pgsluice "$command" "$option" = '')" \
            "bash completion of pgsluice $command $option= values"
    done
done

# --- zsh completion ---------------------------------------------------------------------------
if command -v zsh >/dev/null 2>&1; then
    zsh -n "$source_dir/completions/_pgsluice" || problem "zsh completion: syntax error"
    # The _arguments specs the zsh completion gives for command $1.
    zsh_specs() {
        zsh -fc '_arguments() { print -rl -- "${@[${@[(i):]}+1,-1]}" }
                 words=(pgsluice "$2" ""); CURRENT=3; source "$1"' _ \
            "$source_dir/completions/_pgsluice" "$1"
    }
    for command in "${commands[@]}"; do
        specs=$(zsh_specs "$command")
        offered=$(sed -E -n 's/^\*?(\([^)]*\))?(--?[a-zA-Z][a-zA-Z-]*).*/\2/p' <<<"$specs")
        compare_sets "$(options_of "$command")" "$offered" "zsh completion of pgsluice $command options"
        for option in $(options_of "$command" | grep -- '^--'); do
            values=$(values_of "$command" "$option")
            [[ -n $values ]] || continue
            spec_values=$(grep -E -- "^\*?(\([^)]*\))?$option[=+]?\[" <<<"$specs" | head -1 |
                sed -E -n 's/.*:\(([^)]*)\)$/\1/p' | tr ' ' '\n' | sed 's/\\:/:/g')
            compare_sets "$values" "$spec_values" "zsh completion of pgsluice $command $option values"
        done
    done
    compare_sets "$(printf '%s\n' "${commands[@]}")" \
        "$(zsh -fc '_arguments() { :; }; _describe() { print -rl -- ${(P)4} }
                    words=(pgsluice ""); CURRENT=2; source "$1"' _ "$source_dir/completions/_pgsluice" | cut -d: -f1)" \
        "zsh completion of commands"
else
    echo "SKIP: zsh is not installed: the zsh completion was not checked (apt-get install zsh)"
fi

if ((problems)); then
    echo "$problems problem(s): update docs/pgsluice.1.in and completions/ to match --help"
    exit 1
fi
echo "man page and completions match --help of ${#commands[@]} commands"
