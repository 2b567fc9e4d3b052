# SPDX-License-Identifier: ISC
# shellcheck shell=bash
#
# bash completion for vault(1) and vault-agent(1).
#
# Nothing here is a list of its own: the commands, subcommands and each
# command's options come from the binary (`vault help --commands [CMD]`,
# `vault help --options CMD [SUB]`, which print the tables getopt_long
# uses), so completion cannot drift from what vault accepts. Account and
# action names come from `vault list --names` / `vault action list
# --names`, which answer only from an agent that is already unlocked: they
# never ask for a passphrase, never start an agent and never open the
# vault file. With no agent, a locked one, or VAULT_NO_AGENT, names
# complete to nothing. Standard input is /dev/null and errors are dropped,
# so a TAB never prints or waits.
#
# Self-contained: it needs neither bash-completion's helpers nor anything
# but the vault binary on PATH (or the one typed, e.g. ./build/cli/vault).

# _vault_run ARGS...: the vault being completed, quietly.
_vault_run() {
	"${_vault_bin:-vault}" "$@" </dev/null 2>/dev/null
}

# _vault_add_words PREFIX WORD...: adds the words that start with PREFIX to
# COMPREPLY, quoted for the command line (a name may hold spaces).
_vault_add_words() {
	local cur=$1 w
	shift
	for w in "$@"; do
		[[ -n $w && $w == "$cur"* ]] || continue
		COMPREPLY+=("$(printf '%q' "$w")")
	done
}

# _vault_names list|action PREFIX: names from an unlocked agent.
_vault_names() {
	local -a names=() db=()
	[[ -n ${_vault_db:-} ]] && db=(--db "$_vault_db")
	if [[ $1 == action ]]; then
		mapfile -t names < <(_vault_run "${db[@]}" action list --names)
	else
		mapfile -t names < <(_vault_run "${db[@]}" list --names)
	fi
	_vault_add_words "$2" "${names[@]}"
}

# _vault_files PREFIX [dirs]: file (or directory) names.
_vault_files() {
	local -a f=()
	if [[ ${2:-} == dirs ]]; then
		mapfile -t f < <(compgen -d -- "$1")
	else
		mapfile -t f < <(compgen -f -- "$1")
	fi
	COMPREPLY+=("${f[@]}")
	compopt -o filenames 2>/dev/null
}

# _vault_value OPTION PREFIX: completes the value of a long option.
_vault_value() {
	local opt=$1 cur=$2
	case $opt in
	--db | --keyfile | --unlock-keyfile | --output) _vault_files "$cur" ;;
	--as | --account) _vault_names list "$cur" ;;
	--action) _vault_names action "$cur" ;;
	--use) _vault_add_words "$cur" actions confirm any ;;
	--kdf) _vault_add_words "$cur" interactive moderate sensitive ;;
	--field) _vault_add_words "$cur" user domain host note ;;
	--deliver) _vault_add_words "$cur" askpass stdin fd: file env: ;;
	--charset) _vault_add_words "$cur" all alnum upper lower digit symbol ;;
	--rotate-with) _vault_add_words "$cur" local windows command: none ;;
	--verify-with) _vault_add_words "$cur" command: none ;;
	esac
	# Values such as fd: and command: go on; everything else ends with a space.
	if ((${#COMPREPLY[@]} == 1)) && [[ ${COMPREPLY[0]} == *: ]]; then
		compopt -o nospace 2>/dev/null
	fi
}

_vault() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev="" word opt
	local cmd="" sub="" dashdash=0 npos=0 ddpos=0 i
	local -a opts=() takes=() subs=() cmds=()
	local _vault_bin=${COMP_WORDS[0]} _vault_db=""

	COMPREPLY=()
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	[[ $_vault_bin == */* || $_vault_bin == vault ]] || _vault_bin=vault
	[[ $_vault_bin == "~/"* ]] && _vault_bin=$HOME/${_vault_bin#\~/}

	# Walk the words before the cursor: the common options before the
	# command, the command, its subcommand, its options and their values.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if ((dashdash)); then
			ddpos=$((ddpos + 1))
			continue
		fi
		# bash splits --opt=value at the '=' (COMP_WORDBREAKS): '=' and
		# the value after it are the option's.
		if [[ $word == = ]]; then
			i=$((i + 1))
			continue
		fi
		if [[ $word == -- ]]; then
			dashdash=1
			continue
		fi
		if [[ $word == --db=* ]]; then
			_vault_db=${word#--db=}
			continue
		fi
		if [[ $word == --db || $word == --keyfile ]]; then
			[[ ${COMP_WORDS[i + 1]:-} == = ]] && i=$((i + 1))
			[[ $word == --db ]] && _vault_db=${COMP_WORDS[i + 1]:-}
			i=$((i + 1))
			continue
		fi
		if [[ $word == -* ]]; then
			# An option of the command that takes a value eats the next word.
			for opt in "${takes[@]}"; do
				if [[ $word == "$opt" ]]; then
					[[ ${COMP_WORDS[i + 1]:-} == = ]] && i=$((i + 1))
					i=$((i + 1))
					break
				fi
			done
			continue
		fi
		if [[ -z $cmd ]]; then
			cmd=$word
			mapfile -t subs < <(_vault_run help --commands "$cmd")
			# keyslot takes its options before the subcommand: the
			# first subcommand's table stands in until one is given.
			sub=${subs[0]:-}
			_vault_load_opts
			sub=""
			continue
		fi
		if ((${#subs[@]})) && [[ -z $sub ]]; then
			sub=$word
			_vault_load_opts
			continue
		fi
		npos=$((npos + 1))
	done

	# The value of --opt=VALUE, as bash splits it: "--opt" "=" "VALUE".
	if [[ $cur == = && $prev == --* ]]; then
		_vault_value "$prev" ""
		return 0
	fi
	if [[ $prev == = && ${COMP_WORDS[COMP_CWORD - 2]:-} == --* ]]; then
		_vault_value "${COMP_WORDS[COMP_CWORD - 2]}" "$cur"
		return 0
	fi
	if [[ -z $cmd ]]; then
		if [[ $prev == --db || $prev == --keyfile ]]; then
			_vault_files "$cur"
		elif [[ $cur == -* ]]; then
			_vault_add_words "$cur" --db --keyfile --no-agent --help --version
		else
			mapfile -t cmds < <(_vault_run help --commands)
			_vault_add_words "$cur" "${cmds[@]}"
		fi
		return 0
	fi

	if ((!dashdash)); then
		if [[ $cur == --*=* ]]; then
			_vault_value "${cur%%=*}" "${cur#*=}"
			return 0
		fi
		for opt in "${takes[@]}"; do
			if [[ $prev == "$opt" ]]; then
				_vault_value "$prev" "$cur"
				return 0
			fi
		done
		if [[ $cur == -* ]]; then
			_vault_add_words "$cur" "${opts[@]}"
			return 0
		fi
	fi

	if ((${#subs[@]})) && [[ -z $sub ]]; then
		_vault_add_words "$cur" "${subs[@]}"
		return 0
	fi
	# Positional arguments.
	case $cmd${sub:+ $sub} in
	help) ((npos == 0)) && {
		mapfile -t cmds < <(_vault_run help --commands)
		_vault_add_words "$cur" "${cmds[@]}"
	} ;;
	# mv: OLD is a name there is; NEW is one there is not.
	get | show | history | clip | set | edit | rm | mv | rotate)
		((npos == 0)) && _vault_names list "$cur" ;;
	"action show" | "action rm" | "action repin" | "action mv")
		((npos == 0)) && _vault_names action "$cur" ;;
	"action add")
		((dashdash)) && { if ((ddpos == 0)); then
			mapfile -t cmds < <(compgen -c -- "$cur")
			COMPREPLY+=("${cmds[@]}")
		else
			_vault_files "$cur"
		fi; } ;;
	run)
		if ((dashdash)); then
			if ((ddpos == 0)); then
				mapfile -t cmds < <(compgen -c -- "$cur")
				COMPREPLY+=("${cmds[@]}")
			else
				_vault_files "$cur"
			fi
		else
			# Without --as, the first word is a saved action.
			local w
			for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
				[[ $w == --as || $w == --as=* ]] && return 0
			done
			((npos == 0)) && _vault_names action "$cur"
		fi ;;
	backup | restore | "keyslot add-keyfile" | "keyslot add-bound")
		((npos == 0)) && _vault_files "$cur" ;;
	import)
		if ((npos == 0)); then _vault_add_words "$cur" csv keepassxc bitwarden json keepass-xml kdbx-xml pass; elif ((npos == 1)); then _vault_files "$cur"; fi ;;
	export)
		# export pass DIR: the store directory.
		if ((npos == 0)); then
			_vault_add_words "$cur" csv keepassxc bitwarden json keepass-xml kdbx-xml pass
		elif ((npos == 1)) && [[ " ${COMP_WORDS[*]:1:COMP_CWORD-1} " == *" pass "* ]]; then
			_vault_files "$cur" dirs
		fi ;;
	esac
	return 0
}

# _vault_load_opts: opts and takes (the options that take a value) for
# cmd [sub], from the binary.
_vault_load_opts() {
	local line
	opts=() takes=()
	while IFS= read -r line; do
		case $line in
		*'[=]') opts+=("${line%'[='*}") ;;
		*=)
			opts+=("${line%=}")
			takes+=("${line%=}")
			;;
		--*) opts+=("$line") ;;
		esac
	done < <(_vault_run help --options "$cmd" ${sub:+"$sub"})
}

# vault-agent: its options are few and fixed by its --help.
_vault_agent() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=""
	local -a opts=()
	COMPREPLY=()
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	--db | --unlock-keyfile)
		_vault_files "$cur"
		return 0
		;;
	--idle-timeout | --max-lifetime | --conn-timeout | --worker-timeout) return 0 ;;
	esac
	mapfile -t opts < <("${COMP_WORDS[0]}" --help </dev/null 2>/dev/null |
		grep -oE '(^|[[:space:]])--?[a-z][a-z-]*' | tr -d ' \t' | sort -u)
	_vault_add_words "$cur" "${opts[@]}"
	return 0
}

complete -F _vault vault
complete -F _vault_agent vault-agent
