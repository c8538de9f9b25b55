#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`vfm fuzz` with a fake meson, ninja and fake fuzzers: the fuzz dir, the
libFuzzer command lines, the summary, findings and the exit status."""

from __future__ import annotations

import json
import os
import sys
import unittest

from vfmtest import SOURCE, DriverTest

# Fake meson and ninja: `meson setup` marks the dir configured, `ninja` puts a
# fake fuzzer per target into <dir>/test/fuzz.
FAKE_BUILD = """#!{python}
# SPDX-License-Identifier: MIT
import os, sys
tool = os.path.basename(sys.argv[0])
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(tool + " " + " ".join(args) + "\\n")
if tool == "meson" and args[0] == "setup":
    d = [a for a in args[1:] if not a.startswith("-")][-2]
    os.makedirs(os.path.join(d, "meson-private"), exist_ok=True)
    open(os.path.join(d, "meson-private", "coredata.dat"), "w").close()
    sys.exit(0)
if tool == "ninja":
    d = args[args.index("-C") + 1]
    out = os.path.join(d, "test", "fuzz")
    os.makedirs(out, exist_ok=True)
    for t in ("none", "offload", "offload-traptime", "sandbox", "counters", "all"):
        p = os.path.join(out, "vfm-fuzz-" + t)
        with open(p, "w") as f:
            f.write(open(os.environ["FAKE_FUZZER"]).read())
        os.chmod(p, 0o755)
    sys.exit(0)
sys.exit(2)
"""

# A fake libFuzzer target: logs its arguments, prints what libFuzzer prints,
# and "finds" something when its name is in FAKE_FIND.
FAKE_FUZZER = """#!{python}
# SPDX-License-Identifier: MIT
import os, sys
name = os.path.basename(sys.argv[0])[len("vfm-fuzz-"):]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write("fuzzer " + name + " " + " ".join(sys.argv[1:]) + " trace=" +
              os.environ.get("VFM_FUZZ_TRACE", "") + "\\n")
if any(a.startswith("-merge=1") for a in sys.argv[1:]):
    open(os.path.join(sys.argv[-2], "merged-" + name), "w").close()
    sys.exit(0)
print("INFO: Seed: 1")
print("#2\\tINITED cov: 100 ft: 200 corp: 5/40b exec/s: 0 rss: 30Mb")
print("#5000\\tNEW    cov: 150 ft: 400 corp: 9/90b lim: 20 exec/s: 5000 rss: 30Mb")
if name in os.environ.get("FAKE_FIND", "").split(","):
    prefix = [a for a in sys.argv if a.startswith("-artifact_prefix=")][0].split("=", 1)[1]
    path = prefix + "crash-0123"
    open(path, "w").close()
    print("vfm-fuzz: INVARIANT VIOLATED: a test finding")
    print("SUMMARY: libFuzzer: deadly signal")
    print("artifact_prefix='" + prefix + "'; Test unit written to " + path)
    sys.exit(1)
print("#10000\\tDONE   cov: 160 ft: 420 corp: 10/99b lim: 30 exec/s: 5000 rss: 30Mb")
print("stat::number_of_executed_units: 10000")
print("stat::average_exec_per_sec:     5000")
sys.exit(0)
"""


class FuzzCommandTest(DriverTest):
    def setUp(self):
        super().setUp()
        fake = self.tmp / "fakebin"
        fake.mkdir()
        for tool in ("meson", "ninja"):
            (fake / tool).write_text(FAKE_BUILD.format(python=sys.executable))
            os.chmod(fake / tool, 0o755)
        fuzzer = self.tmp / "fake-fuzzer"
        fuzzer.write_text(FAKE_FUZZER.format(python=sys.executable))
        self.log = self.tmp / "tools.log"
        self.env.update(PATH=f"{fake}:{self.env['PATH']}", FAKE_LOG=str(self.log),
                        FAKE_FUZZER=str(fuzzer))

    def lines(self, first):
        return [ln for ln in self.log.read_text().splitlines() if ln.startswith(first + " ")]

    def test_targets_command_lines_and_summary(self):
        proc = self.vfm("fuzz", "--no-deps", "--runs", "100", "--policy", "sandbox,none", "--", "-seed=7")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        fuzz = self.tmp / "build-fuzz"
        setup, = self.lines("meson")
        self.assertIn("-Dfuzz=true", setup.split())
        self.assertIn(str(SOURCE / "cross" / "native-clang-14.ini"), setup.split())
        runs = self.lines("fuzzer")
        self.assertEqual([ln.split()[1] for ln in runs], ["none", "sandbox"])
        for ln, t in zip(runs, ("none", "sandbox")):
            words = ln.split()
            self.assertEqual(words[2], str(fuzz / "fuzz-runs" / t / "corpus"))
            tree = SOURCE / "test" / "fuzz" / "corpus" / t
            if tree.is_dir():  # the corpus in the tree, read only
                self.assertEqual(words[3], str(tree))
            else:
                self.assertTrue(words[3].startswith("-"), words)
            self.assertIn("-runs=100", words)
            self.assertIn("-seed=7", words)
            self.assertIn(f"-artifact_prefix={fuzz / 'fuzz-runs' / t / 'findings'}/", words)
            self.assertFalse(any(w.startswith("-max_total_time=") for w in words))
        out = proc.stdout.splitlines()
        row = [ln for ln in out if ln.split()[:1] == ["sandbox"]][0].split()
        self.assertEqual(row[1:6], ["10000", "5000", "160", "420", "10"])
        self.assertEqual(row[6], "none")
        self.assertEqual(out[-1], "20000 executions, 0 target(s) with findings")

    def test_default_time_and_every_target(self):
        proc = self.vfm("fuzz", "--no-deps", "--jobs", "3")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        runs = self.lines("fuzzer")
        self.assertEqual(sorted(ln.split()[1] for ln in runs),
                         sorted(["none", "offload", "offload-traptime", "sandbox", "counters", "all"]))
        self.assertTrue(all("-max_total_time=60" in ln.split() for ln in runs))
        proc = self.vfm("fuzz", "--no-deps", "--time", "5", "--policy", "all", "--jobs", "2")
        runs = self.lines("fuzzer")[6:]
        self.assertEqual([ln.split()[1] for ln in runs], ["all", "all"])
        self.assertTrue(all("-max_total_time=5" in ln.split() for ln in runs))
        self.assertEqual(proc.stdout.splitlines()[-1], "20000 executions, 0 target(s) with findings")

    def test_finding_fails_and_says_how_to_reproduce(self):
        self.env["FAKE_FIND"] = "offload"
        proc = self.vfm("fuzz", "--no-deps", "--runs", "10", "--policy", "offload,counters")
        self.assertEqual(proc.returncode, 1)
        artifact = self.tmp / "build-fuzz" / "fuzz-runs" / "offload" / "findings" / "crash-0123"
        self.assertTrue(artifact.is_file())
        self.assertIn(f"reproduce: {self.tmp / 'build-fuzz' / 'test' / 'fuzz' / 'vfm-fuzz-offload'} {artifact}",
                      proc.stdout)
        self.assertIn("INVARIANT VIOLATED: a test finding", proc.stdout)
        self.assertEqual(proc.stdout.splitlines()[-1], "15000 executions, 1 target(s) with findings")

    def test_repro(self):
        crash = self.file("input", b"\x01\x02")
        proc = self.vfm("fuzz", "--no-deps", "--policy", "counters", "--repro", crash)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        run, = self.lines("fuzzer")
        self.assertEqual(run.split()[1:3], ["counters", str(crash)])
        self.assertTrue(run.endswith("trace=1"))
        self.assertEqual(self.vfm("fuzz", "--no-deps", "--repro", crash).returncode, 2)

    def test_usage_errors(self):
        for args in (["--policy", "bogus"], ["--time", "0"], ["--runs", "-1"], ["--jobs", "0"]):
            proc = self.vfm("fuzz", "--no-deps", *args)
            self.assertEqual(proc.returncode, 2, args)
            self.assertTrue(proc.stderr.startswith("vfm: error: "), proc.stderr)
            self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
