# bash completion for pgsluice(1). Installed as share/bash-completion/completions/pgsluice.
# tests/docs/check_cli_docs.sh runs _pgsluice against `pgsluice CMD --help`: a command or an
# option missing here, or offered here but unknown to pgsluice, fails the test.

_pgsluice_selection="--table -t --table-and-children --exclude-table -T
  --exclude-table-and-children --schema -n --exclude-schema -N --exclude-table-data
  --exclude-table-data-and-children --filter --strict-names --drop-dangling-foreign-keys"
_pgsluice_load="--target --jobs -j --index-jobs --clean --no-owner --no-privileges
  --skip-analyze --progress --report --protect --yes --swap --keep-old --terminate-connections
  --swap-wait --rules --verbose -v --quiet -q --retries --stall-timeout --strict --create
  --pg-bin"

# The options of command $1, on stdout.
_pgsluice_options() {
    case $1 in
        copy)
            echo "--help -h --source $_pgsluice_load --split-tables-larger-than --subset" \
                "--verify $_pgsluice_selection" ;;
        plan)
            echo "--help -h --source --jobs -j --split-tables-larger-than --format --subset" \
                "--rules --strict $_pgsluice_selection" ;;
        scan)
            echo "--help -h --source --rules --sample-rows --format --verbose -v" \
                "$_pgsluice_selection" ;;
        verify)
            echo "--help -h --source --target --jobs -j --format --subset --rules" \
                "$_pgsluice_selection" ;;
        dump)
            echo "--help -h --source --file -f --jobs -j --compress --io" \
                "--split-tables-larger-than --subset --retries --stall-timeout --rules --strict --pg-bin" \
                "--progress --report --verbose -v --quiet -q $_pgsluice_selection" ;;
        restore)
            echo "--help -h --file -f $_pgsluice_load --io --verify $_pgsluice_selection" ;;
        inspect)
            echo "--help -h --format --io --verify" ;;
    esac
}

_pgsluice() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    # `--progress=js`: bash splits at '=' (COMP_WORDBREAKS), so the option is two words back.
    if [[ $cur == = ]]; then
        cur=""
    elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi
    local command="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            copy | plan | scan | verify | dump | restore | inspect)
                command=${COMP_WORDS[i]}
                break ;;
        esac
    done
    COMPREPLY=()
    if [[ -z $command ]]; then
        COMPREPLY=($(compgen -W "copy plan scan verify dump restore inspect --help -h --version" \
            -- "$cur"))
        return 0
    fi
    case $prev in
        --progress)
            COMPREPLY=($(compgen -W "auto plain json none" -- "$cur"))
            return 0 ;;
        --io)
            COMPREPLY=($(compgen -W "auto uring sync" -- "$cur"))
            return 0 ;;
        --compress)
            COMPREPLY=($(compgen -W "zstd $(printf 'zstd:%d ' {1..19})" -- "$cur"))
            return 0 ;;
        --format)
            if [[ $command == scan ]]; then
                COMPREPLY=($(compgen -W "text json yaml" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "text json" -- "$cur"))
            fi
            return 0 ;;
        --pg-bin)
            compopt -o dirnames 2>/dev/null
            COMPREPLY=($(compgen -d -- "$cur"))
            return 0 ;;
        -f | --file | --report | --rules | --filter)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0 ;;
        --source | --target | --jobs | -j | --index-jobs | --protect | --swap-wait | \
            --split-tables-larger-than | --subset | --retries | --stall-timeout | --sample-rows | \
            --table | -t | --table-and-children | --exclude-table | -T | \
            --exclude-table-and-children | --schema | -n | --exclude-schema | -N | \
            --exclude-table-data | --exclude-table-data-and-children)
            return 0 ;;
    esac
    if [[ $command == inspect && $cur != -* ]]; then
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
        return 0
    fi
    COMPREPLY=($(compgen -W "$(_pgsluice_options "$command")" -- "$cur"))
    return 0
}

complete -F _pgsluice pgsluice
