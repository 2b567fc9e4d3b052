# SPDX-License-Identifier: ISC
#
# fish completion for vault(1). As in the bash script: commands,
# subcommands and options come from the binary (`vault help --commands
# [CMD]`, `vault help --options CMD [SUB]`), and account and action names
# only from an agent that is already unlocked (`vault list --names`,
# `vault action list --names`: never a prompt, never a new agent, never
# the vault file opened). Errors are dropped; stdin is /dev/null.

# Prints "CMD" or "CMD SUB" for the command line so far, or nothing.
function __vault_cmd
    set -l words (commandline -opc)
    set -l cmd
    set -l skip 0
    for w in $words[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $w
            case --db --keyfile
                set skip 1
                continue
            case '-*'
                continue
        end
        if test -z "$cmd"
            set cmd $w
            if test -z "$(command vault help --commands $cmd </dev/null 2>/dev/null)"
                echo $cmd
                return
            end
            continue
        end
        echo $cmd $w
        return
    end
    test -n "$cmd"; and echo $cmd
end

function __vault_db
    set -l words (commandline -opc)
    set -l i (contains -i -- --db $words)
    and echo $words[(math $i + 1)]
end

function __vault_names
    set -l db
    set -l d (__vault_db)
    test -n "$d"; and set db --db $d
    command vault $db $argv --names </dev/null 2>/dev/null
end

function __vault_options
    set -l c (string split ' ' -- (__vault_cmd))
    test (count $c) -ge 1; or return
    if test (count $c) -eq 1; and test -n "$(command vault help --commands $c[1] </dev/null 2>/dev/null)"
        return
    end
    command vault help --options $c </dev/null 2>/dev/null | string replace -r '\[?=\]?$' ''
end

function __vault_needs_command
    test -z "$(__vault_cmd)"
end

function __vault_needs_sub
    set -l c (string split ' ' -- (__vault_cmd))
    test (count $c) -eq 1
    and test -n "$(command vault help --commands $c[1] </dev/null 2>/dev/null)"
end

function __vault_is
    test "$(__vault_cmd)" = "$argv"
end

complete -c vault -f
complete -c vault -n __vault_needs_command -a '(command vault help --commands </dev/null 2>/dev/null)'
complete -c vault -n __vault_needs_command -l db -r -F
complete -c vault -n __vault_needs_command -l keyfile -r -F
complete -c vault -n __vault_needs_command -l no-agent
complete -c vault -n '__vault_needs_sub' -a '(command vault help --commands (__vault_cmd) </dev/null 2>/dev/null)'
complete -c vault -n 'not __vault_needs_command; and string match -q -- "-*" (commandline -ct)' -a '(__vault_options)'
for c in get show history clip set edit rm mv rotate
    complete -c vault -n "__vault_is $c" -a '(__vault_names list)'
end
for c in 'action show' 'action rm' 'action repin' 'action mv' run
    complete -c vault -n "__vault_is $c" -a '(__vault_names action list)'
end
complete -c vault -n 'not __vault_needs_command' -l as -x -a '(__vault_names list)'
complete -c vault -n 'not __vault_needs_command' -l account -x -a '(__vault_names list)'
complete -c vault -n 'not __vault_needs_command' -l action -x -a '(__vault_names action list)'
complete -c vault -n 'not __vault_needs_command' -l use -x -a 'actions confirm any'
complete -c vault -n 'not __vault_needs_command' -l kdf -x -a 'interactive moderate sensitive'
complete -c vault -n 'not __vault_needs_command' -l field -x -a 'user domain host note'
complete -c vault -n 'not __vault_needs_command' -l deliver -x -a 'askpass stdin fd: file env:'
for c in backup restore 'keyslot add-keyfile' 'keyslot add-bound'
    complete -c vault -n "__vault_is $c" -F
end
# import FORMAT FILE (pass: a store directory), export FORMAT [--output FILE], export pass DIR
complete -c vault -n '__vault_is import; or __vault_is export' -x -a 'csv keepassxc bitwarden json keepass-xml kdbx-xml pass'
complete -c vault -n '__vault_is import' -F
complete -c vault -n '__vault_is export; and __fish_seen_subcommand_from pass' -x -a '(__fish_complete_directories)'
complete -c vault -n '__vault_is export' -l output -r -F
