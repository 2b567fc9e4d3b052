#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""docs_check.py VAULT VAULT_AGENT DOCDIR [COMMAND...]: the man pages against the commands.

For every command that `vault help --commands` lists, it finds the page whose
NAME line names vault-COMMAND and checks, both ways:
  - every option the command's --help mentions appears in its page;
  - every option the page documents for it (a .TP tag in OPTIONS, under no
    .SS or under a .SS naming the command) is one the command parses
    (`vault help --options COMMAND [SUB]`: the table getopt_long uses);
  - every option the command parses is in its --help and documented in its
    page (the common ones in vault(1)'s COMMON OPTIONS);
  - `vault help COMMAND` prints exactly what `vault COMMAND --help` prints.
The same for vault-agent(1) against `vault-agent --help`. Prints one line
per check, "PASS what" or "FAIL what: why"; docs.sh turns them into TAP.
With COMMANDs, only those (and vault-agent) are checked.
"""
import os
import re
import subprocess
import sys

OPT = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]")
COMMON = {"--db", "--keyfile", "--no-agent", "--help"}


def run(argv):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                       env=dict(os.environ, VAULT_NO_AGENT="1"))
    return p.returncode, p.stdout.decode("utf-8", "replace")


def plain(line):
    """A roff line as text: escapes and font changes gone."""
    line = line.replace("\\-", "-").replace("\\e", "\\")
    line = re.sub(r"\\f[BIRP]|\\f\(..|\\&|\\\(.." , "", line)
    return line


class Page:
    def __init__(self, path):
        self.path = path
        self.names = []
        self.text = ""
        # OPTIONS: .SS heading (None: for every command of the page) -> the
        # options tagged there; other sections ending in OPTIONS (vault(1)'s
        # COMMON OPTIONS) under their own name.
        self.doc = {}
        section = sub = None
        lines = open(path, encoding="utf-8").read().split("\n")
        body = []
        for i, raw in enumerate(lines):
            if raw.startswith(".SH"):
                section = raw[3:].strip().strip('"')
                sub = None
                continue
            if raw.startswith(".SS"):
                sub = raw[3:].strip().strip('"')
                continue
            if section == "NAME" and not raw.startswith("."):
                names = plain(raw).split(" - ")[0]
                self.names += [n.strip() for n in names.split(",")]
            if (section or "").endswith("OPTIONS") and raw.startswith(".TP") and i + 1 < len(lines):
                tag = plain(lines[i + 1])
                key = sub if section == "OPTIONS" else section
                self.doc.setdefault(key, set()).update(OPT.findall(tag))
            if not raw.startswith(".\\\""):
                body.append(plain(raw))
        self.text = "\n".join(body)

    def documented(self, cmd):
        """Options documented for cmd: those under no .SS, and under a .SS naming it."""
        out = set(self.doc.get(None, set()))
        for heading, opts in self.doc.items():
            if heading is None or heading.endswith("OPTIONS"):
                continue
            names = [h.strip() for h in heading.split(",")]
            if any(n == cmd or n.split(" ")[0] == cmd for n in names):
                out |= opts
        return out

    def mentions(self, opt):
        return re.search(re.escape(opt) + r"(?![a-z0-9-])", self.text) is not None


def main():
    vault, agent, docdir = sys.argv[1:4]
    only = set(sys.argv[4:])
    pages = [Page(os.path.join(docdir, f)) for f in sorted(os.listdir(docdir)) if re.search(r"\.[18]$", f)]
    by_name = {}
    for p in pages:
        for n in p.names:
            by_name[n] = p
    fails = 0

    def report(ok, what, why=""):
        nonlocal fails
        if ok:
            print("PASS " + what)
        else:
            fails += 1
            print("FAIL %s: %s" % (what, why))

    rc, out = run([vault, "help", "--commands"])
    cmds = out.split()
    report(rc == 0 and len(cmds) > 10, "vault help --commands lists the commands", out[:200])
    vault_page = by_name.get("vault")
    report(vault_page is not None, "vault(1) exists")
    if vault_page is not None:
        common_doc = vault_page.doc.get("COMMON OPTIONS", set())
        missing = COMMON - common_doc
        report(not missing, "vault(1) documents the common options", " ".join(sorted(missing)))
    for cmd in cmds:
        if only and cmd not in only:
            continue
        page = by_name.get("vault-" + cmd)
        report(page is not None, "%s: a page names vault-%s" % (cmd, cmd))
        if page is None:
            continue
        base = os.path.basename(page.path)
        rc1, h1 = run([vault, cmd, "--help"])
        rc2, h2 = run([vault, "help", cmd])
        report(rc1 == 0 and rc2 == 0 and h1 == h2 and h1.strip() != "",
               "%s: vault help %s says what vault %s --help says" % (cmd, cmd, cmd),
               "exit %d/%d, %d/%d bytes" % (rc1, rc2, len(h1), len(h2)))
        rc, subs_out = run([vault, "help", "--commands", cmd])
        subs = subs_out.split()
        accepted = set()
        for sub in subs or [None]:
            rc, o = run([vault, "help", "--options", cmd] + ([sub] if sub else []))
            report(rc == 0 and o.strip() != "", "%s%s: its option table is listed" % (cmd, " " + sub if sub else ""),
                   "exit %d" % rc)
            accepted |= {re.sub(r"\[?=\]?$", "", l) for l in o.split()}
        if subs:
            rc, o = run([vault, "help", "--options", cmd, "no-such-sub"])
            report(rc == 2 and o == "", "%s: an unknown subcommand lists nothing (exit 2)" % cmd, "exit %d" % rc)
        in_help = set(OPT.findall(h1))
        missing = {o for o in in_help if not page.mentions(o)}
        report(not missing, "%s: every option its --help names is in %s" % (cmd, base), " ".join(sorted(missing)))
        doc = page.documented(cmd)
        refused = doc - accepted
        report(not refused, "%s: %s documents no option it refuses" % (cmd, base), " ".join(sorted(refused)))
        unhelped = accepted - in_help - {"--help"}
        report(not unhelped, "%s: its --help names every option it takes" % cmd, " ".join(sorted(unhelped)))
        undoc = accepted - doc - (COMMON if vault_page is not None else set())
        report(not undoc, "%s: %s documents every option it takes" % (cmd, base), " ".join(sorted(undoc)))

    page = by_name.get("vault-agent")
    report(page is not None, "vault-agent(1) exists")
    if page is not None:
        rc, h = run([agent, "--help"])
        in_help = set(OPT.findall(h))
        missing = {o for o in in_help if not page.mentions(o)}
        report(rc == 0 and not missing, "vault-agent: every option its --help names is in its page",
               " ".join(sorted(missing)))
        doc = page.documented("vault-agent")
        refused = doc - in_help
        report(not refused, "vault-agent: its page documents no option --help lacks", " ".join(sorted(refused)))
        undoc = in_help - doc
        report(not undoc, "vault-agent: its page documents every option of --help", " ".join(sorted(undoc)))
    for p in pages if not only else []:
        report("\nEXAMPLES" in "\n" + open(p.path, encoding="utf-8").read().replace(".SH ", "\n"),
               "%s has an EXAMPLES section" % os.path.basename(p.path))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
