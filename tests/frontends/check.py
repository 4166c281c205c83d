#!/usr/bin/env python3
"""Every front end runs the same operations the same way.

Runs each line of tests/frontends/table.txt through five front ends of
mmiodrv -- a one-shot command line, a batch file, the pipe protocol, the
interactive shell (driven through a pseudo-terminal) and Python's
Device.run -- on one device, and requires, line by line:

  - the same results from every front end (the JSON objects --json prints,
    minus what changes from run to run: times, read counts, addresses);
  - the same error class and the same message (without its fix, which each
    front end words in its own terms) when the line fails;
  - the class the table expects for that line and that device.

    check.py --mmiodrv PATH --device DEV [--target sim|edu] [--python] [--table FILE]

Standard library only (Python's mmiodrv module with --python). Prints one
line per disagreement and a summary; exit status 1 when anything differs.
"""

import argparse
import json
import os
import pty
import re
import select
import shlex
import subprocess
import sys
import tempfile
import time

# What differs from run to run, not between front ends.
VOLATILE = {"elapsed_us", "reads", "time", "address", "mapping", "t_ms", "file", "line"}
PROMPT = re.compile(rb"mmiodrv [^\n>]*> $")


def load_table(path, target):
    """(line, expected class) for each line of the table, for `target`; and
    the lines that reset the device before each front end."""
    rows, resets = [], []
    with open(path) as f:
        for raw in f:
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            if text.startswith("@reset "):
                resets.append(text.removeprefix("@reset "))
                continue
            line, _, want = text.partition(" ==> ")
            words = want.split()
            expected = words[0]
            for w in words[1:]:
                t, _, cls = w.partition(":")
                if t == target:
                    expected = cls
            rows.append((line, expected))
    return rows, resets


def scrub(v):
    if isinstance(v, dict):
        return {k: scrub(x) for k, x in v.items() if k not in VOLATILE}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v


def without_fix(message):
    return message.split("; fix: ")[0]


def unwrap(obj):
    """A line's JSON object: its results (a command with several has them in `results`)."""
    if "results" in obj and obj.get("op") != "error":
        return obj["results"]
    return [obj]


def outcome(objects):
    """("ok", results) or (class, message): a line's outcome from its JSON objects."""
    results = []
    for o in objects:
        if o.get("op") == "error":
            # A script's line is one object: what it made before failing is in its error.
            results.extend(o.get("results", []))
            return (o["class"], without_fix(o["error"]), scrub(results))
        results.extend(unwrap(o))
    return ("ok", "", scrub(results))


def json_lines(text):
    objects = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            objects.append(json.loads(line))
    return objects


class Runner:
    def __init__(self, mmiodrv, device, state_dir):
        self.mmiodrv = mmiodrv
        self.device = device
        self.state_dir = state_dir
        self.env = dict(os.environ, TERM="dumb", MMIODRV_HISTORY="/dev/null")
        self.env.pop("MMIODRV_DEVICE", None)

    def base(self, state):
        args = [self.mmiodrv, "--device", self.device, "--json"]
        if self.device.startswith("sim:"):
            args += ["--state", state]
        return args

    def state(self, name):
        path = os.path.join(self.state_dir, name + ".json")
        if os.path.exists(path):
            os.unlink(path)
        return path

    def oneshot(self, lines):
        state = self.state("oneshot")
        out = []
        for line in lines:
            p = subprocess.run(self.base(state) + shlex.split(line), capture_output=True, text=True, env=self.env)
            out.append(outcome(json_lines(p.stdout)))
        return out

    def batch_file(self, lines):
        state = self.state("batch")
        out = []
        for line in lines:
            script = os.path.join(self.state_dir, "line.txt")
            with open(script, "w") as f:
                f.write(line + "\n")
            p = subprocess.run(self.base(state) + ["batch", script], capture_output=True, text=True, env=self.env)
            out.append(outcome(json_lines(p.stdout)))
        return out

    def pipe(self, lines):
        state = self.state("pipe")
        p = subprocess.run(
            self.base(state) + ["batch", "--keep-going", "-"],
            input="".join(l + "\n" for l in lines),
            capture_output=True,
            text=True,
            env=self.env,
        )
        objects = json_lines(p.stdout)
        if len(objects) != len(lines):
            raise SystemExit(f"pipe: {len(objects)} replies to {len(lines)} lines:\n{p.stdout}\n{p.stderr}")
        return [outcome([o]) for o in objects]

    def shell(self, lines):
        state = self.state("shell")
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(self.mmiodrv, self.base(state) + ["shell"], self.env)
        out = []
        try:
            read_until_prompt(fd)
            for line in lines:
                os.write(fd, line.encode() + b"\n")
                text = read_until_prompt(fd).decode(errors="replace")
                objects = json_lines(text)
                if len(objects) != 1:
                    raise SystemExit(f"shell: {len(objects)} objects for {line!r}:\n{text}")
                out.append(outcome(objects))
            os.write(fd, b"quit\n")
        finally:
            _, status = os.waitpid(pid, 0)
            os.close(fd)
        return out

    def python(self, lines):
        import mmiodrv

        out = []
        with mmiodrv.open(self.device) as dev:
            for line in lines:
                try:
                    out.append(outcome(dev.run(line)))
                except mmiodrv.Error as e:
                    cls = type(e).__name__.removesuffix("Error")
                    out.append((cls, without_fix(str(e)), scrub(list(getattr(e, "results", [])))))
        return out


def read_until_prompt(fd, timeout=30.0):
    buf = b""
    deadline = time.monotonic() + timeout
    while not PROMPT.search(buf):
        left = deadline - time.monotonic()
        if left <= 0:
            raise SystemExit(f"shell: no prompt within {timeout} s; got {buf!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return PROMPT.sub(b"", buf.replace(b"\r\n", b"\n"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mmiodrv", required=True)
    ap.add_argument("--device", required=True)
    ap.add_argument("--target", default="sim", help="which overrides of the table apply (sim, edu)")
    ap.add_argument("--table", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "table.txt"))
    ap.add_argument("--python", action="store_true", help="also Python's Device.run (the mmiodrv module)")
    ap.add_argument("--min", type=int, default=40, help="at least this many operations and this many bad inputs")
    args = ap.parse_args()

    rows, resets = load_table(args.table, args.target)
    lines = [l for l, _ in rows]
    good = sum(1 for _, c in rows if c == "ok")
    bad = len(rows) - good
    if good < args.min or bad < args.min:
        raise SystemExit(f"the table has {good} operations and {bad} bad inputs for {args.target}; want {args.min} each")

    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(os.path.abspath(args.mmiodrv), args.device, tmp)
        fronts = [("one-shot", runner.oneshot), ("batch file", runner.batch_file), ("pipe", runner.pipe), ("shell", runner.shell)]
        if args.python:
            fronts.append(("python", runner.python))
        results = {}
        for name, run in fronts:
            started = time.monotonic()
            # The same starting state for each front end (a real device keeps its registers).
            for reset in runner.oneshot(resets):
                if reset[0] != "ok":
                    raise SystemExit(f"a reset line failed: {reset}")
            results[name] = run(lines)
            print(f"frontends: {name}: {len(lines)} lines in {time.monotonic() - started:.1f} s", file=sys.stderr)

    problems = []
    reference = fronts[0][0]
    for i, (line, want) in enumerate(rows):
        ref = results[reference][i]
        if ref[0] != want:
            problems.append(f"{line!r}: {reference} ended {ref[0]} ({ref[1]}), the table says {want}")
        for name, _ in fronts[1:]:
            got = results[name][i]
            if got != ref:
                problems.append(f"{line!r}: {name} differs from {reference}:\n    {reference}: {ref}\n    {name}: {got}")
    for p in problems:
        print(p)
    names = ", ".join(n for n, _ in fronts)
    print(
        f"frontends: {args.device} ({args.target}): {good} operations and {bad} bad inputs through {names}: "
        + ("all agree" if not problems else f"{len(problems)} disagreement(s)")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
