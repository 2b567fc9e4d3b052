#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""crash_check.py - the checks crash.sh runs after every SIGKILL.

    crash_check.py SPEC OP
    crash_check.py SPEC --serve      (OPs on stdin, one answer a line)

SPEC is a JSON file crash.sh writes once: the vault binary, the trial's
vault file, the keyfile that unlocks it (slot 2, never touched by a trial:
a keyfile unlock costs no Argon2, so the checks stay cheap), the accounts,
actions, keyslots and passphrases of the pristine vault, and what each
operation writes. OP is the operation that was interrupted (add, set, rm,
passwd, slot-add-pass, slot-add-key, slot-rm, action-add, rotate, rekey), or
"none" (nothing was run: the vault must be exactly the pristine one).

Every check goes through the real `vault --no-agent` (nothing here reads
the vault file itself, except SQLite's own integrity check at the end):

  - the vault opens (`vault list --json`);
  - for rotate first `vault rotate --recover`, then: no pending or
    reconcile state, and the vault's current password is the one in the
    target's record file (the old one, or a new one with the old kept as
    version 1); the record does not change while the checks run (crash.sh
    waits for every process a trial left behind first);
  - every pristine account still has its password (`vault get`);
  - the interrupted operation happened completely or not at all: add and
    action add (absent, or present and right), set (old, or new with the
    old kept in history), rm (intact, or gone), passwd (exactly one of the
    old and the new passphrase opens), keyslot add (one more slot that
    opens with its passphrase or keyfile, or no new slot at all), keyslot
    rm (the slot and its passphrase, or neither), rekey (the old key: the
    keyfile opens, every slot is there, no rekey in the log; or the new
    key: only the master passphrase's slot, re-wrapped, opens everything,
    the keyfile opens nothing, the log records the rekey; never neither);
    after a rekey the checks unlock with the master passphrase;
  - nothing else changed: the account, action and keyslot sets;
  - `vault log --verify` passes with at least as many entries as before;
  - PRAGMA integrity_check is "ok".

Prints one line: "happened ..." or "not-happened ..." with a few details,
and exits 0; or prints every problem found (never a password) and exits 1.
With --serve, answers each OP read on stdin with one line: "ok " and that
summary, or "fail " and the problems joined by " | ".
"""
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile


class Checker:
    def __init__(self, spec):
        self.s = spec
        self.problems = []
        self.notes = []
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("VAULT_")}
        env["VAULT_NO_AGENT"] = "1"
        env["VAULT_DB"] = spec["db"]
        self.env = env
        self.default_pass = None  # after a rekey the keyfile slot is gone

    def problem(self, text):
        self.problems.append(text)

    def vault(self, *args, keyfile=None, passphrase=None, stdin=""):
        """Runs vault --no-agent; returns (exit code, stdout, stderr)."""
        env = dict(self.env)
        argv = [self.s["vault"], *args, "--no-agent"]
        pf = None
        if passphrase is None and keyfile is None and self.default_pass is not None:
            passphrase = self.default_pass
        if passphrase is not None:
            fd, pf = tempfile.mkstemp(dir=self.s["tmp"])
            with os.fdopen(fd, "w") as f:
                f.write(passphrase + "\n")
            env["VAULT_PASSPHRASE_FILE"] = pf
        else:
            argv += ["--keyfile", keyfile or self.s["keyfile"]]
        try:
            p = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                               env=env, timeout=120)
        except subprocess.TimeoutExpired:
            return 124, "", "timed out"
        finally:
            if pf:
                os.unlink(pf)
        return p.returncode, p.stdout, p.stderr

    def vault_json(self, *args, what):
        rc, out, err = self.vault(*args, "--json")
        if rc != 0:
            self.problem(f"{what}: vault {' '.join(args)} --json exit {rc}: {err.strip()[:300]}")
            return None
        try:
            return json.loads(out)
        except ValueError:
            self.problem(f"{what}: not JSON: {out[:200]!r}")
            return None

    def secret(self, name, version=None):
        args = ["get", name] + (["--version", str(version)] if version else [])
        rc, out, err = self.vault(*args)
        if rc != 0:
            return None, f"exit {rc}: {err.strip()[:300]}"
        if not out.endswith("\n"):
            return None, "no newline after the password"
        return out[:-1], None

    def expect_secret(self, name, want, why, version=None):
        got, err = self.secret(name, version)
        if err is not None:
            self.problem(f"{why}: vault get {name}{f' --version {version}' if version else ''}: {err}")
        elif got != want:
            self.problem(f"{why}: vault get {name}{f' --version {version}' if version else ''} "
                         f"is not the stored password ({len(got)} characters, not {len(want)})")
        return got

    def opens_with_passphrase(self, pw, what):
        """True/False: does the passphrase open the vault (exit 0 or 3)."""
        rc, _, err = self.vault("list", passphrase=pw)
        if rc not in (0, 3):
            self.problem(f"vault list with {what}: exit {rc}, expected 0 or 3: {err.strip()[:300]}")
        return rc == 0

    def opens_with_keyfile(self, path, what):
        rc, _, err = self.vault("list", keyfile=path)
        if rc not in (0, 3):
            self.problem(f"vault list --keyfile {what}: exit {rc}, expected 0 or 3: {err.strip()[:300]}")
        return rc == 0

    # ------------------------------------------------------------------
    def run(self, op, bg=None):
        s = self.s
        if op == "rotate-late":
            op = "rotate"  # the same checks: after --recover the vault has what the target has
        o = s["ops"]
        happened = None

        # Rekey: the old key (the keyfile opens) or the new one (only the
        # master passphrase does), never neither.
        rekeyed = None
        if op == "rekey":
            by_key = self.opens_with_keyfile(s["keyfile"], "(the checks' keyfile)")
            by_pass = self.opens_with_passphrase(s["pass"]["master"], "the master passphrase")
            if not by_pass:
                self.problem("after the rekey was killed, the master passphrase does not open the vault")
                return None
            rekeyed = not by_key
            if rekeyed:
                self.default_pass = s["pass"]["master"]

        # The vault opens at all.
        accounts = self.vault_json("list", what="the vault opens (vault list)")
        if accounts is None:
            return None
        # A second writer's accounts (bg-*): every acknowledged one is
        # there with its password; the rest of the checks ignore them.
        accounts = self.check_second_writer(accounts, bg)

        # Rotation: recover first, as an operator would, then compare.
        if op == "rotate":
            r = o["rotate"]
            rec_before = self.read_record()
            before = [a for a in accounts if a["name"] == r["name"]]
            if before:
                self.notes.append(f"(was {before[0]['rotation_status']})")
            rc, rout, rerr = self.vault("rotate", "--recover")
            if rc != 0:
                self.problem(f"vault rotate --recover: exit {rc}: {rerr.strip()[:400]} {rout.strip()[:200]}")
            else:
                m = re.search(r"(\d+) committed, (\d+) rolled back", rout)
                if m and m.group(1) != "0":
                    self.notes.append("(recovery committed it)")
                elif m and m.group(2) != "0":
                    self.notes.append("(recovery rolled it back)")
            accounts = self.vault_json("list", what="vault list after recovery")
            if accounts is None:
                return None
            accounts = [a for a in accounts if not a["name"].startswith("bg-")]
        names = {a["name"]: a for a in accounts}
        want = set(s["accounts"])
        if op == "add":
            want_alt = want | {o["add"]["name"]}
        elif op == "rm":
            want_alt = want - {o["rm"]["name"]}
        else:
            want_alt = want
        if set(names) == want:
            changed_set = False
        elif set(names) == want_alt:
            changed_set = True
        else:
            self.problem(f"accounts are {sorted(names)}, expected {sorted(want)}"
                         + (f" or {sorted(want_alt)}" if want_alt != want else ""))
            changed_set = None

        # Every account stored before the operation still has its password
        # (the one the operation targets is checked below).
        targets = {"set": o["set"]["name"], "rm": o["rm"]["name"], "rotate": o["rotate"]["name"]}
        for name, pw in s["accounts"].items():
            if name == targets.get(op):
                continue
            if name not in names:
                continue  # already reported above
            self.expect_secret(name, pw, f"pristine account {name}")
            a = names[name]
            if a["rotation_status"] != "ok" or a["pending_version"] != 0:
                self.problem(f"account {name} is {a['rotation_status']} (pending version "
                             f"{a['pending_version']}) but nothing rotated it")

        if op == "add":
            happened = changed_set
            if changed_set:
                a = names[o["add"]["name"]]
                if a["user"] != o["add"]["user"] or a["use"] != "any":
                    self.problem(f"added account has user {a['user']!r}, use {a['use']!r}")
                self.expect_secret(o["add"]["name"], o["add"]["password"], "the added account")
        elif op == "rm":
            happened = changed_set
            name = o["rm"]["name"]
            if changed_set is False:
                self.expect_secret(name, s["accounts"][name], "the account rm did not remove")
            elif changed_set:
                rc, _, err = self.vault("get", name)
                if rc != 4:
                    self.problem(f"vault get {name} after its rm: exit {rc}, expected 4 (not found)")
        elif op == "set":
            name, old, new = o["set"]["name"], s["accounts"][o["set"]["name"]], o["set"]["password"]
            a = names.get(name)
            got, err = self.secret(name)
            if err is not None:
                self.problem(f"vault get {name}: {err}")
            elif got == old:
                happened = False
                if a and a["version"] != s["versions"][name]:
                    self.problem(f"{name} has the old password but version {a['version']}, "
                                 f"was {s['versions'][name]}")
            elif got == new:
                happened = True
                if a and a["version"] != s["versions"][name] + 1:
                    self.problem(f"{name} has the new password at version {a['version']}, "
                                 f"expected {s['versions'][name] + 1}")
                self.expect_secret(name, old, "the old password kept in history",
                                   version=s["versions"][name])
            else:
                self.problem(f"{name}'s password is neither the old nor the new one")
        elif op == "rotate":
            happened = self.check_rotation(names)
        elif op == "none" and changed_set:
            self.problem("the account set changed, and nothing ran")

        # Actions.
        acts = self.vault_json("action", "list", what="vault action list")
        if acts is not None:
            byname = {a["name"]: a for a in acts}
            want = dict(s["actions"])
            extra = set(byname) - set(want)
            if op == "action-add":
                new = o["action-add"]
                happened = new["name"] in byname
                if happened:
                    want[new["name"]] = new
                    extra.discard(new["name"])
            for name, w in want.items():
                a = byname.get(name)
                if a is None:
                    self.problem(f"action {name} is missing")
                    continue
                for k in ("account", "program", "pin", "netonly", "deliver", "args"):
                    if a.get(k) != w.get(k):
                        self.problem(f"action {name}: {k} is {a.get(k)!r}, expected {w.get(k)!r}")
            if extra:
                self.problem(f"unexpected actions: {sorted(extra)}")

        # Keyslots.
        slots = self.vault_json("keyslot", "list", what="vault keyslot list")
        if slots is not None:
            ids = sorted(x["id"] for x in slots)
            base = sorted(s["slots"])
            if op in ("slot-add-pass", "slot-add-key"):
                if ids == base:
                    happened = False
                elif len(ids) == len(base) + 1 and ids[:-1] == base and ids[-1] > base[-1]:
                    happened = True
                    kind = {"slot-add-pass": "passphrase", "slot-add-key": "keyfile"}[op]
                    got = [x["kind"] for x in slots if x["id"] == ids[-1]][0]
                    if got != kind:
                        self.problem(f"the new keyslot {ids[-1]} is a {got}, not a {kind}")
                else:
                    self.problem(f"keyslots {ids}, expected {base} or one more")
                if op == "slot-add-pass" and happened is not None:
                    opens = self.opens_with_passphrase(s["pass"]["slot"], "the new keyslot's passphrase")
                    if opens != happened:
                        self.problem(f"{len(ids)} keyslots, but the new keyslot's passphrase "
                                     f"{'opens' if opens else 'does not open'} the vault")
                elif op == "slot-add-key" and happened is not None:
                    path = o["slot-add-key"]["path"]
                    if os.path.exists(path):
                        opens = self.opens_with_keyfile(path, "of the new keyslot")
                        if opens != happened:
                            self.problem(f"{len(ids)} keyslots, but the new keyfile "
                                         f"{'opens' if opens else 'does not open'} the vault")
                    elif happened:
                        self.problem("a keyfile keyslot was added but its keyfile does not exist")
                    else:
                        self.notes.append("no keyfile")
            elif op == "slot-rm":
                rid = o["slot-rm"]["id"]
                if ids == base:
                    happened = False
                elif ids == [i for i in base if i != rid]:
                    happened = True
                else:
                    self.problem(f"keyslots {ids}, expected {base} or without {rid}")
                if happened is not None:
                    opens = self.opens_with_passphrase(s["pass"]["slot3"], "the removed slot's passphrase")
                    if opens == happened:
                        self.problem(f"keyslot {rid} {'removed' if happened else 'kept'}, but its "
                                     f"passphrase {'still opens' if opens else 'does not open'} the vault")
            elif op == "rekey":
                happened = rekeyed
                want_ids = [o["rekey"]["slot"]] if rekeyed else base
                if ids != want_ids:
                    self.problem(f"keyslots {ids}, expected {want_ids} "
                                 f"({'rekeyed' if rekeyed else 'not rekeyed'})")
                log = self.vault_json("log", what="vault log")
                if log is not None:
                    n = sum(1 for e in log if e.get("op") == "rekey")
                    if n != (1 if rekeyed else 0):
                        self.problem(f"{n} rekey entries in the log, but the vault is "
                                     f"{'rekeyed' if rekeyed else 'not rekeyed'}")
            elif ids != base:
                self.problem(f"keyslots {ids}, expected {base}: nothing touched them")

        # The master passphrase: exactly one of old and new opens.
        if op == "passwd":
            old = self.opens_with_passphrase(s["pass"]["master"], "the old master passphrase")
            new = self.opens_with_passphrase(s["pass"]["new"], "the new master passphrase")
            if old == new:
                self.problem(f"the old master passphrase {'opens' if old else 'does not open'} the "
                             f"vault, and the new one {'too' if new else 'neither'}: expected exactly one")
            else:
                happened = new

        # The audit chain.
        rc, out, err = self.vault("log", "--verify")
        m = re.search(r"verified: (\d+) entries", err + out)
        if rc != 0:
            self.problem(f"vault log --verify: exit {rc}: {err.strip()[-400:]}")
        elif not m:
            self.problem(f"vault log --verify says nothing about entries: {err.strip()[-200:]}")
        elif int(m.group(1)) < s["audit_entries"]:
            self.problem(f"the audit log has {m.group(1)} entries, fewer than the "
                         f"{s['audit_entries']} of the pristine vault")

        # The target holds still while we check: a change landing now comes
        # from a process of the trial that crash.sh's finish() did not wait
        # for, and would land in the next trial's target otherwise.
        if op == "rotate" and self.read_record() != rec_before:
            self.problem("the target's record changed while the check ran: a process of the trial "
                         "was still running (crash.sh's finish() must wait for it)")

        # SQLite's own view, last (this connection may checkpoint the WAL).
        try:
            db = sqlite3.connect(s["db"])
            ic = db.execute("PRAGMA integrity_check").fetchall()
            db.close()
            if ic != [("ok",)]:
                self.problem(f"PRAGMA integrity_check: {ic[:5]}")
        except sqlite3.Error as e:
            self.problem(f"sqlite3: {e}")
        return happened

    def read_record(self):
        """The target's record of the rotated account, or None."""
        try:
            with open(self.s["ops"]["rotate"]["record"]) as f:
                return f.read()
        except OSError:
            return None

    def check_second_writer(self, accounts, bg):
        """bg: a file of NAME<TAB>PASSWORD lines, the writes the second writer saw acknowledged."""
        if bg is None:
            return accounts
        present = {a["name"] for a in accounts}
        acked = 0
        try:
            with open(bg) as f:
                lines = [l.rstrip("\n") for l in f if l.strip()]
        except FileNotFoundError:
            lines = []
        for line in lines:
            name, pw = line.split("\t", 1)
            acked += 1
            if name not in present:
                self.problem(f"the second writer's acknowledged account {name} is lost")
                continue
            self.expect_secret(name, pw, f"the second writer's acknowledged account {name}")
        self.notes.append(f"(second writer: {acked} acknowledged, "
                          f"{sum(1 for n in present if n.startswith('bg-'))} present)")
        return [a for a in accounts if not a["name"].startswith("bg-")]

    def check_rotation(self, names):
        r = self.s["ops"]["rotate"]
        name, old = r["name"], self.s["accounts"][r["name"]]
        a = names.get(name)
        if a is None:
            self.problem(f"{name} is missing")
            return None
        if a["rotation_status"] != "ok" or a["pending_version"] != 0:
            self.problem(f"after --recover {name} is {a['rotation_status']}, pending version "
                         f"{a['pending_version']}, last error {a['last_error']!r}")
        try:
            with open(r["record"]) as f:
                rec = f.read()
        except OSError as e:
            self.problem(f"the target's record: {e}")
            return None
        rec = rec[:-1] if rec.endswith("\n") else rec
        got, err = self.secret(name)
        if err is not None:
            self.problem(f"vault get {name}: {err}")
            return None
        if got != rec:
            self.problem(f"{name}: the vault's current password is not the one the target has "
                         f"(target has the {'old' if rec == old else 'new'} one, the vault "
                         f"the {'old' if got == old else 'other'} one)")
            return None
        if got == old:
            if a["version"] != self.s["versions"][name]:
                self.problem(f"{name} kept the old password, but at version {a['version']}")
            return False
        if a["version"] <= self.s["versions"][name]:
            self.problem(f"{name} has a new password at version {a['version']}")
        self.expect_secret(name, old, "the password from before the rotation, in history",
                           version=self.s["versions"][name])
        return True


def check(spec, line):
    """One check: (True, summary) or (False, [problems]). line: OP [bg=FILE]."""
    op, _, rest = line.partition(" ")
    bg = rest[3:] if rest.startswith("bg=") else None
    c = Checker(spec)
    happened = c.run(op, bg)
    if op == "none" and happened:
        c.problem("something happened, and nothing ran")
    if op != "none" and happened is None and not c.problems:
        c.problem(f"cannot tell whether {op} happened")
    if c.problems:
        return False, c.problems
    return True, " ".join(["happened" if happened else "not-happened"] + c.notes)


def main():
    if len(sys.argv) != 3:
        print("usage: crash_check.py SPEC OP|--serve", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    if sys.argv[2] != "--serve":
        ok, what = check(spec, sys.argv[2])
        print(what if ok else "\n".join(what))
        return 0 if ok else 1
    # --serve: one OP a line on stdin, one answer a line on stdout, so
    # that 500 trials do not pay for 500 Python start-ups.
    for line in sys.stdin:
        ok, what = check(spec, line.strip())
        out = ("ok " + what) if ok else ("fail " + " | ".join(what))
        print(" ".join(out.split("\n")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
