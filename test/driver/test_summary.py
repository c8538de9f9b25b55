#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Test summaries from testlog.json, `vfm summary`, and small pure helpers."""

import json
import os
import time
import unittest
from pathlib import Path

from vfmtest import DriverTest

from vfmtool import fetch, summary


def testlog(*results):
    return "".join(json.dumps({"name": f"t{i}", "result": r, "duration": 0.1}) + "\n"
                   for i, r in enumerate(results))


SAMPLE = testlog("OK", "OK", "FAIL", "SKIP", "EXPECTEDFAIL", "UNEXPECTEDPASS", "TIMEOUT",
                 "ERROR", "OK") + "{truncated"


class ParseTest(unittest.TestCase):
    def test_counts(self):
        c = summary.parse_testlog(SAMPLE, "build")
        self.assertEqual((c.passed, c.failed, c.skipped), (4, 4, 1))
        self.assertEqual(c.line(), "4 passed, 4 failed, 1 skipped")
        self.assertIn("FAIL build: t2", c.failures)
        self.assertIn("TIMEOUT build: t6", c.failures)

    def test_no_skipped_part_when_none(self):
        self.assertEqual(summary.parse_testlog(testlog("OK", "FAIL")).line(), "1 passed, 1 failed")
        self.assertEqual(summary.parse_testlog("").line(), "0 passed, 0 failed")

    def test_unknown_result_counts_as_failure(self):
        self.assertEqual(summary.parse_testlog(testlog("WEIRD")).failed, 1)

    def test_parse_summary_line(self):
        c = summary.parse_summary_line("12 passed, 3 failed, 2 skipped")
        self.assertEqual((c.passed, c.failed, c.skipped), (12, 3, 2))
        self.assertEqual(summary.parse_summary_line("Tests: 1 passed, 0 failed").passed, 1)
        self.assertIsNone(summary.parse_summary_line("all good"))


class SummaryCommandTest(DriverTest):
    def write_log(self, suffix, text):
        d = Path(f"{self.tmp / 'build'}{suffix}") / "meson-logs"
        d.mkdir(parents=True, exist_ok=True)
        (d / "testlog.json").write_text(text)

    def test_totals_over_build_dirs(self):
        self.write_log("", testlog("OK", "OK", "SKIP"))
        self.write_log("-riscv", testlog("OK", "FAIL"))
        self.write_log("-riscv-clang", testlog("OK"))
        proc = self.vfm("summary")
        self.assertEqual(proc.returncode, 1)
        lines = proc.stdout.splitlines()
        self.assertEqual(lines[-1], "4 passed, 1 failed, 1 skipped")
        self.assertTrue(any("build-riscv " in ln and "1 passed, 1 failed" in ln for ln in lines))
        self.assertTrue(any("FAIL build-riscv: t1" in ln for ln in lines))
        proc = self.vfm("summary", "--quiet")
        self.assertEqual(proc.stdout, "4 passed, 1 failed, 1 skipped\n")
        # The sanitizer dirs count like the others.
        self.write_log("-asan", testlog("OK", "OK"))
        self.write_log("-asan-clang", testlog("OK", "FAIL"))
        proc = self.vfm("summary")
        lines = proc.stdout.splitlines()
        self.assertEqual(lines[-1], "7 passed, 2 failed, 1 skipped")
        self.assertTrue(any("build-asan " in ln and "2 passed, 0 failed" in ln for ln in lines))
        self.assertTrue(any("build-asan-clang " in ln and "1 passed, 1 failed" in ln
                            for ln in lines))
        self.assertTrue(any("FAIL build-asan-clang: t1" in ln for ln in lines))

    def test_all_passed(self):
        self.write_log("", testlog("OK", "OK"))
        proc = self.vfm("summary", "-q")
        self.assertEqual((proc.returncode, proc.stdout), (0, "2 passed, 0 failed\n"))

    def test_nothing_ran(self):
        proc = self.vfm("summary", "-q")
        self.assertEqual((proc.returncode, proc.stdout), (0, "0 passed, 0 failed\n"))

    def test_failed_steps_count(self):
        self.write_log("", testlog("OK", "OK"))
        self.write_log("-riscv", testlog("OK"))
        summary.write_status(self.tmp / "build", ["build", "build-riscv-clang"],
                             [{"dir": "build-riscv-clang", "step": "build", "ok": False}])
        proc = self.vfm("summary")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stdout.splitlines()[-1], "2 passed, 1 failed")  # build-riscv not run
        self.assertIn("build failed", proc.stdout)


    def test_unfinished_or_failed_deps_count(self):
        self.write_log("", testlog("OK"))
        summary.write_status(self.tmp / "build", ["build"],
                             [{"dir": "", "step": "deps", "ok": False}])
        proc = self.vfm("summary")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stdout.splitlines()[-1], "1 passed, 1 failed")
        self.assertIn("DEPS FAILED", proc.stdout)


FAKE_TOOL = """#!{python}
# SPDX-License-Identifier: MIT
# Fake meson / ninja for the tests of `vfm test`.
import json, os, sys
tool = os.path.basename(sys.argv[0])
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(tool + " " + " ".join(args) + "\\n")
fail = os.environ.get("FAKE_FAIL", "").split(",")
if tool == "ninja":
    d = args[args.index("-C") + 1]
    sys.exit(1 if "ninja:" + os.path.basename(d) in fail else 0)
if args[0] == "setup":
    d = [a for a in args[1:] if not a.startswith("-")][-2]
    if "setup:" + os.path.basename(d) in fail:
        sys.exit(1)
    os.makedirs(os.path.join(d, "meson-private"), exist_ok=True)
    open(os.path.join(d, "meson-private", "coredata.dat"), "w").close()
    sys.exit(0)
if args[0] == "test":
    d = args[args.index("-C") + 1]
    logbase = args[args.index("--logbase") + 1] if "--logbase" in args else "testlog"
    fake = json.loads(os.environ["FAKE_RESULTS"])
    # A stress round (logbase stress-<stamp>-rNN) may have results of its own: "<dir>@rNN".
    key = os.path.basename(d) + "@" + logbase.rsplit("-", 1)[-1]
    results = fake.get(key, fake.get(os.path.basename(d), []))
    os.makedirs(os.path.join(d, "meson-logs"), exist_ok=True)
    with open(os.path.join(d, "meson-logs", logbase + ".json"), "w") as f:
        for i, r in enumerate(results):
            f.write(json.dumps({{"name": "vfm:qemu / t%d" % i, "result": r, "duration": 1.5,
                                 "command": ["run_qemu.py", "t%d" % i],
                                 "stdout": "output of t%d in %s\\n" % (i, logbase)}}) + "\\n")
    sys.exit(1 if any(r != "OK" and r != "SKIP" for r in results) else 0)
sys.exit(2)
"""


class FakeMesonTest(DriverTest):
    """Fake meson and ninja on PATH (FAKE_TOOL)."""

    def setUp(self):
        super().setUp()
        import os
        import sys
        fake = self.tmp / "fakebin"
        fake.mkdir()
        for tool in ("meson", "ninja"):
            (fake / tool).write_text(FAKE_TOOL.format(python=sys.executable))
            os.chmod(fake / tool, 0o755)
        self.log = self.tmp / "tools.log"
        self.env.update(PATH=f"{fake}:{self.env['PATH']}", FAKE_LOG=str(self.log),
                        FAKE_RESULTS=json.dumps({"build": ["OK", "OK", "SKIP"],
                                                 "build-riscv": ["OK"],
                                                 "build-riscv-clang": ["OK", "FAIL"],
                                                 "build-asan": ["OK", "OK"],
                                                 "build-asan-clang": ["OK"]}))

    def tool_lines(self, tool, *words):
        """The logged calls of a fake tool that contain every word."""
        return [ln for ln in self.log.read_text().splitlines()
                if ln.startswith(tool + " ") and all(w in ln.split() for w in words)]


class TestCommandTest(FakeMesonTest):
    """`vfm test` with fake meson and ninja: steps, summary, stale results."""

    def test_all_dirs_and_summary(self):
        proc = self.vfm("test", "--no-deps", "--no-slow", "--suite", "unit", "--", "-v")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(proc.stdout.splitlines()[-1], "7 passed, 1 failed, 1 skipped")
        self.assertIn("FAIL build-riscv-clang: vfm:qemu / t1", proc.stdout)
        log = self.log.read_text()
        self.assertIn("riscv64-gcc.ini --buildtype=minsize", log)
        self.assertIn("riscv64-clang.ini --buildtype=minsize", log)
        self.assertIn("--print-errorlogs --suite=unit --no-suite=slow -v", log)
        self.assertEqual(len(self.tool_lines("meson", "test")), 6)
        self.assertEqual(len(self.tool_lines("ninja")), 6)
        self.assertEqual(self.vfm("summary", "-q").stdout, "7 passed, 1 failed, 1 skipped\n")

    def test_fuzz_dir(self):
        self.assertEqual(self.vfm("test", "--no-deps", "--only", "fuzz").returncode, 0)
        fuzz = str(self.tmp / "build-fuzz")
        native_file = str(Path(__file__).resolve().parents[2] / "cross" / "native-clang-14.ini")
        setup, = self.tool_lines("meson", "setup", fuzz)
        self.assertIn("-Dfuzz=true", setup.split())
        self.assertIn("--buildtype=debugoptimized", setup.split())
        self.assertIn(f"--native-file {native_file}", setup)
        self.assertNotIn("-Db_sanitize=address,undefined", setup.split())
        # Only the smoke run (suite fuzz) runs there.
        test, = self.tool_lines("meson", "test", fuzz)
        self.assertTrue(test.endswith(f"-C {fuzz} --print-errorlogs --suite=fuzz"), test)

    def test_sanitizer_dirs(self):
        self.assertEqual(self.vfm("test", "--no-deps", "--only", "asan,asan-clang").returncode, 0)
        asan = str(self.tmp / "build-asan")
        asan_clang = str(self.tmp / "build-asan-clang")
        native_file = str(Path(__file__).resolve().parents[2] / "cross" / "native-clang-14.ini")
        setup, = self.tool_lines("meson", "setup", asan)
        self.assertIn("-Db_sanitize=address,undefined", setup.split())
        self.assertNotIn("--native-file", setup.split())
        self.assertNotIn("--cross-file", setup.split())
        setup, = self.tool_lines("meson", "setup", asan_clang)
        self.assertIn("-Db_sanitize=address,undefined", setup.split())
        self.assertIn(f"--native-file {native_file}", setup)
        # Only the unit tests run there, unless the caller chooses suites.
        for d in (asan, asan_clang):
            test, = self.tool_lines("meson", "test", d)
            self.assertTrue(test.endswith(f"-C {d} --print-errorlogs --suite=unit"), test)
        self.assertEqual(self.tool_lines("meson", "test", str(self.tmp / "build")), [])
        self.log.unlink()
        proc = self.vfm("test", "--no-deps", "--suite", "virt", "--only", "asan", "--only", "native")
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(proc.stdout.splitlines()[-1], "4 passed, 0 failed, 1 skipped")
        for d in (asan, str(self.tmp / "build")):
            test, = self.tool_lines("meson", "test", d)
            self.assertTrue(test.endswith(f"-C {d} --print-errorlogs --suite=virt"), test)
        self.assertEqual(self.tool_lines("meson", "test", asan_clang), [])
        self.log.unlink()
        self.vfm("test", "--no-deps", "--only", "build-asan-clang", "--", "--suite", "fdt")
        test, = self.tool_lines("meson", "test")
        self.assertTrue(test.endswith("--print-errorlogs --suite fdt"), test)
        # Names and aliases in the usage error.
        line = self.assertUsageError(self.vfm("test", "--no-deps", "--only", "tsan"), "tsan")
        self.assertIn("asan-clang", line)
        self.assertIn("build-asan", line)

    def test_build_failure_counts_and_old_results_do_not(self):
        self.env["FAKE_RESULTS"] = json.dumps({"build": ["OK"], "build-riscv": ["OK", "OK"],
                                               "build-riscv-clang": ["OK"],
                                               "build-asan": [], "build-asan-clang": []})
        self.assertEqual(self.vfm("test", "--no-deps").returncode, 0)
        self.env["FAKE_FAIL"] = "ninja:build-riscv"
        proc = self.vfm("test", "--no-deps")
        self.assertEqual(proc.returncode, 1)
        # build-riscv's two old passes are gone; its build failure counts once.
        self.assertEqual(proc.stdout.splitlines()[-1], "2 passed, 1 failed")
        self.assertIn("build failed", proc.stdout)
        self.assertEqual(self.vfm("summary", "-q").stdout, "2 passed, 1 failed\n")

    def test_configure_failure_and_only(self):
        self.env["FAKE_FAIL"] = "setup:build-riscv-clang"
        proc = self.vfm("test", "--no-deps", "--only", "clang")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stdout.splitlines()[-1], "0 passed, 1 failed")
        self.assertIn("configure failed", proc.stdout)
        proc = self.vfm("test", "--no-deps", "--only", "native,riscv")
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(proc.stdout.splitlines()[-1], "3 passed, 0 failed, 1 skipped")
        self.assertUsageError(self.vfm("test", "--no-deps", "--only", "nowhere"), "nowhere")

    def test_setup_reconfigures(self):
        self.assertEqual(self.vfm("setup", "-Dpolicies=offload").returncode, 0)
        self.assertEqual(self.vfm("setup", "-Dlog_level=debug").returncode, 0)
        lines = self.log.read_text().splitlines()
        self.assertEqual(len(lines), 12)
        self.assertTrue(all("-Dpolicies=offload" in ln and "--reconfigure" not in ln
                            for ln in lines[:6]))
        self.assertTrue(all("--reconfigure" in ln and "-Dlog_level=debug" in ln
                            for ln in lines[6:]))
        # Reconfiguring keeps the dir's fixed options, not its native or cross file.
        self.assertIn("-Db_sanitize=address,undefined", lines[10])
        self.assertNotIn("--native-file", lines[10])
        self.assertIn("-Dfuzz=true", lines[11])
        self.assertNotIn("--native-file", lines[11])

    def test_build_all_dirs(self):
        self.assertEqual(self.vfm("build").returncode, 0)
        self.assertEqual([ln.split()[-1] for ln in self.tool_lines("ninja")],
                         [str(self.tmp / n) for n in ("build", "build-riscv", "build-riscv-clang",
                                                      "build-asan", "build-asan-clang", "build-fuzz")])


class StressTest(FakeMesonTest):
    """`vfm test --stress N` with fake meson and ninja: rounds, failures and their logs."""

    def test_rounds_failures_and_logs(self):
        self.env["FAKE_RESULTS"] = json.dumps({"build": ["FAIL"], "build-riscv": ["OK", "SKIP"],
                                               "build-riscv-clang": ["OK", "OK"],
                                               "build-riscv@r02": ["OK", "TIMEOUT"]})
        proc = self.vfm("test", "--no-deps", "--stress", "3", "--load", "0", "--suite", "qemu")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        out = proc.stdout.splitlines()
        # The cross dirs only, each round in its own log, no testlog.json written.
        log = self.log.read_text()
        self.assertNotIn(f"-C {self.tmp / 'build'} ", log)
        self.assertEqual(log.count("--no-rebuild --logbase stress-"), 6)
        self.assertIn("--suite=qemu", log)
        self.assertFalse((self.tmp / "build-riscv" / "meson-logs" / "testlog.json").exists())
        self.assertTrue(out[0].startswith("vfm: stress round 1/3: 3 passed, 0 failed, 1 skipped"), out)
        self.assertTrue(out[1].startswith("vfm: stress round 2/3: 3 passed, 1 failed ("), out)
        self.assertEqual(out[2], "  round 2: TIMEOUT build-riscv: vfm:qemu / t1 after 1.5 s")
        self.assertTrue(out[3].startswith("    log: "), out)
        saved = Path(out[3].split("log: ", 1)[1])
        self.assertTrue(saved.name.startswith("r02-t1"), saved)
        self.assertIn("output of t1 in stress-", saved.read_text())
        self.assertIn("run_qemu.py", saved.read_text())
        self.assertIn("vfm: stress summary: 3 of 3 round(s) in build-riscv, build-riscv-clang, "
                      "0 busy process(es)", proc.stdout)
        self.assertIn("  failures (1):", out)
        self.assertEqual(out[-1], "9 passed, 1 failed, 2 skipped")

    def test_all_passed_with_load(self):
        self.env["FAKE_RESULTS"] = json.dumps({"build-riscv": ["OK"], "build-riscv-clang": ["OK"]})
        proc = self.vfm("test", "--no-deps", "--stress", "2", "--load", "2", "--only", "clang")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.splitlines()[-1], "2 passed, 0 failed")
        self.assertIn("in build-riscv-clang, 2 busy process(es)", proc.stdout)
        # The load ran while the rounds ran and is gone afterwards.
        pids = [int(p) for ln in proc.stderr.splitlines() if "background load:" in ln
                for p in ln.split("pids ", 1)[1].split()]
        self.assertEqual(len(pids), 2, proc.stderr)
        for pid in pids:
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                self.fail(f"load process {pid} still runs")

    def test_build_failure_stops_it(self):
        self.env["FAKE_FAIL"] = "ninja:build-riscv-clang"
        proc = self.vfm("test", "--no-deps", "--stress", "2", "--load", "0")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("BUILD FAILED build-riscv-clang", proc.stdout)
        self.assertEqual(proc.stdout.splitlines()[-1], "0 passed, 1 failed")
        self.assertNotIn("logbase", self.log.read_text())

    def test_option_errors(self):
        self.assertUsageError(self.vfm("test", "--stress", "0"), "--stress")
        self.assertUsageError(self.vfm("test", "--stress", "many"), "--stress")
        self.assertUsageError(self.vfm("test", "--stress", "1", "--load", "-1"), "--load")
        self.assertUsageError(self.vfm("test", "--load", "2"), "--load needs --stress")


class HelperTest(unittest.TestCase):
    def test_sanitizer_runtimes_are_installed(self):
        from vfmtool import deps
        # clang-14 only recommends its sanitizer runtimes; gcc's come with g++.
        self.assertIn("libclang-rt-14-dev", deps.PACKAGES)
        self.assertIn("g++", deps.PACKAGES)

    def test_compare_versions(self):
        cmp = fetch.compare_versions
        self.assertGreater(cmp("6.12.107+deb13", "6.12.94+deb13"), 0)
        self.assertLess(cmp("1.0~rc1", "1.0"), 0)
        self.assertGreater(cmp("1:0.1", "2.0"), 0)
        self.assertEqual(cmp("1.6-1", "1.6-1"), 0)
        self.assertGreater(cmp("1.6-10", "1.6-9"), 0)
        self.assertLess(cmp("1.6", "1.6a"), 0)

    def test_pick_kernel(self):
        names = ["linux-image-6.12.94+deb13-riscv64", "linux-image-6.12.107+deb13-riscv64-dbg",
                 "linux-image-6.12.107+deb13-riscv64", "linux-image-6.12.9+deb13-riscv64",
                 "linux-image-6.11.1-riscv64", "linux-image-6.12.200-riscv64-unsigned",
                 "linux-image-6.12.300+deb13-amd64"]
        self.assertEqual(fetch.pick_kernel(names), "linux-image-6.12.107+deb13-riscv64")
        self.assertIsNone(fetch.pick_kernel(["linux-image-6.1.0-riscv64"]))

    def test_mirror_uri(self):
        import os
        import tempfile
        os.environ.pop("VFM_DEBIAN_MIRROR", None)
        with tempfile.TemporaryDirectory() as t:
            etc = Path(t)
            self.assertEqual(fetch.mirror_uri(etc), "http://deb.debian.org/debian")
            (etc / "sources.list").write_text(
                "# deb http://old.example/debian bookworm main\n"
                "deb https://packages.example.com/apt cloud main\n"
                "deb [arch=amd64] http://ftp.example.org/debian/ bookworm main\n")
            self.assertEqual(fetch.mirror_uri(etc), "http://ftp.example.org/debian")
            (etc / "sources.list.d").mkdir()
            (etc / "sources.list.d" / "debian.sources").write_text(
                "Types: deb\n# http://snapshot.debian.org/archive/debian/2025\n"
                "URIs: http://mirror.example.net/debian\nSuites: bookworm\n\n"
                "Types: deb\nURIs: http://mirror.example.net/debian-security\n")
            self.assertEqual(fetch.mirror_uri(etc), "http://mirror.example.net/debian")
            os.environ["VFM_DEBIAN_MIRROR"] = "http://local/debian/"
            try:
                self.assertEqual(fetch.mirror_uri(etc), "http://local/debian")
            finally:
                del os.environ["VFM_DEBIAN_MIRROR"]


if __name__ == "__main__":
    unittest.main(verbosity=2)
