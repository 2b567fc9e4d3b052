# SPDX-License-Identifier: ISC
# fish completion for vault-agent(1): its options, from its --help.
complete -c vault-agent -f
complete -c vault-agent -a '(command vault-agent --help </dev/null 2>/dev/null | string match -r -a -g "(?:^|\s)(--?[a-z][a-z-]*)" | sort -u)'
complete -c vault-agent -l db -r -F
complete -c vault-agent -l unlock-keyfile -r -F
