#!/usr/bin/python3
"""The alert rules (helm/tessera/rules/tessera-alerts.yaml) checked by promtool: `check rules`
passes, `test rules` passes, every alert has a test where it fires and one where it stays
silent, and each test can fail: an alert made never to fire breaks its firing test, and one made
always to fire breaks its silent test. The chart's PrometheusRule, rendered by helm, passes the
same unit tests.

Run by ctest; by hand: /usr/bin/python3 tests/e2e/rules_test.py --binary build/server/tessera --source .
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

from harness import parse_args

ARGS = None


class Rules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = os.path.join(ARGS.source, "helm/tessera/rules")
        with open(os.path.join(cls.dir, "tessera-alerts.yaml")) as f:
            cls.rules = yaml.safe_load(f)
        with open(os.path.join(cls.dir, "tessera-alerts.test.yaml")) as f:
            cls.tests = yaml.safe_load(f)
        cls.alerts = [r["alert"] for g in cls.rules["groups"] for r in g["rules"]]

    def promtool_test(self, rules):
        """`promtool test rules` of the shipped tests against `rules` (a parsed rule file)."""
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "tessera-alerts.yaml"), "w") as f:
                yaml.safe_dump(rules, f)
            shutil.copy(os.path.join(self.dir, "tessera-alerts.test.yaml"), tmp)
            return subprocess.run(["promtool", "test", "rules", "tessera-alerts.test.yaml"],
                                  cwd=tmp, capture_output=True, text=True, timeout=120)

    def test_01_check_and_test_rules_pass(self):
        out = subprocess.run(["promtool", "check", "rules", "tessera-alerts.yaml"], cwd=self.dir,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn(f"SUCCESS: {len(self.alerts)} rules found", out.stdout)
        out = subprocess.run(["promtool", "test", "rules", "tessera-alerts.test.yaml"],
                             cwd=self.dir, capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("SUCCESS", out.stdout)

    def test_02_every_alert_has_a_firing_and_a_silent_test(self):
        self.assertEqual(set(self.alerts), {
            "TesseraDatabaseUnreachable", "TesseraChangeFeedLagHigh", "TesseraNotServing",
            "TesseraLockoutsSpiking", "TesseraPasswordPoolSaturated", "TesseraRpcErrorRatioHigh"})
        fires, silent = set(), set()
        for test in self.tests["tests"]:
            for case in test.get("alert_rule_test", []):
                (fires if case.get("exp_alerts") else silent).add(case["alertname"])
        self.assertEqual(fires, set(self.alerts), "alerts without a test where they fire")
        self.assertEqual(silent, set(self.alerts), "alerts without a test where they stay silent")

    def test_03_each_alert_broken_fails_its_tests(self):
        for name in self.alerts:
            for broken, what in (("vector(1) == 0", "never fires"),
                                 (None, "always fires")):
                rules = yaml.safe_load(yaml.safe_dump(self.rules))
                for rule in (r for g in rules["groups"] for r in g["rules"]):
                    if rule["alert"] == name and broken:
                        rule["expr"] = broken
                    elif rule["alert"] == name:
                        # Always, and at once: the expression, or else a series with no labels.
                        rule["expr"] = f"({rule['expr'].strip()}) or on() vector(1)"
                        rule.pop("for", None)
                out = self.promtool_test(rules)
                self.assertNotEqual(out.returncode, 0, f"{name} {what}, and the tests still pass")
                self.assertIn(name, out.stdout + out.stderr)

    def test_04_the_charts_prometheusrule_passes_the_same_tests(self):
        helm = os.path.join(ARGS.source, "tools/bin/helm")
        chart = os.path.join(ARGS.source, "helm/tessera")
        out = subprocess.run([helm, "template", "rel", chart, "-f",
                              os.path.join(chart, "ci/default-values.yaml"),
                              "--set", "prometheusRule.enabled=true"],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        rule = [o for o in yaml.safe_load_all(out.stdout) if o and o["kind"] == "PrometheusRule"]
        self.assertEqual(len(rule), 1)
        self.assertEqual(rule[0]["spec"]["groups"], self.rules["groups"])
        out = self.promtool_test({"groups": rule[0]["spec"]["groups"]})
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


if __name__ == "__main__":
    ARGS, rest = parse_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
