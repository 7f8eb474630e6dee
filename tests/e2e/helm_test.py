#!/usr/bin/python3
"""The Helm chart, checked by the real tools: `helm lint --strict` and `helm template` with the
default values and with every optional feature on (helm/tessera/ci/*-values.yaml: the
PrometheusRule and the Grafana dashboard ConfigMap among them); the rendered
manifests validated against the Kubernetes and Prometheus Operator schemas (npm
kubernetes-models, tools/validate_manifests.mjs); what the manifests must say (hardened pods,
gRPC probes, named ports, the migrate hook); and bad values refused by values.schema.json.

Run by ctest; by hand: /usr/bin/python3 tests/e2e/helm_test.py --binary build/server/tessera --source .
"""
import os
import subprocess
import sys
import unittest

import yaml

from harness import parse_args

ARGS = None


class Chart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.helm = os.path.join(ARGS.source, "tools/bin/helm")
        cls.chart = os.path.join(ARGS.source, "helm/tessera")
        cls.values = {name: os.path.join(cls.chart, "ci", f"{name}-values.yaml")
                      for name in ("default", "all-features")}

    def run_helm(self, *args):
        return subprocess.run([self.helm, *args], capture_output=True, text=True, timeout=120)

    def render(self, values, *extra):
        out = self.run_helm("template", "rel", self.chart, "-f", self.values[values], *extra)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def objects(self, rendered):
        return {(o["kind"], o["metadata"]["name"]): o
                for o in yaml.safe_load_all(rendered) if o}

    def validate(self, rendered):
        return subprocess.run(["node", os.path.join(ARGS.source, "tools/validate_manifests.mjs")],
                              input=rendered, capture_output=True, text=True, timeout=120)

    def test_01_lint_strict_with_default_and_all_features(self):
        for name, path in self.values.items():
            out = self.run_helm("lint", "--strict", self.chart, "-f", path)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertIn("0 chart(s) failed", out.stdout, name)

    def test_02_rendered_manifests_match_the_kubernetes_schemas(self):
        for name in self.values:
            rendered = self.render(name)
            out = self.validate(rendered)
            self.assertEqual(out.returncode, 0, f"{name}: {out.stderr}")
            print(f"\n  {name}: {len(out.stdout.splitlines())} objects valid", file=sys.stderr)
        # The validator itself refuses a broken object.
        broken = rendered.replace("replicas: 3", 'replicas: "three"', 1) if "replicas: 3" in \
            rendered else rendered.replace("minReplicas: 3", 'minReplicas: "three"', 1)
        self.assertNotEqual(broken, rendered)
        self.assertEqual(self.validate(broken).returncode, 1)

    def test_03_defaults_run_two_hardened_replicas_with_grpc_probes(self):
        objs = self.objects(self.render("default"))
        deploy = objs[("Deployment", "rel-tessera")]
        self.assertEqual(deploy["spec"]["replicas"], 2)
        pod = deploy["spec"]["template"]["spec"]
        self.assertTrue(pod["securityContext"]["runAsNonRoot"])
        c = pod["containers"][0]
        sc = c["securityContext"]
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertEqual(c["readinessProbe"]["grpc"]["port"], 50051)
        self.assertEqual(c["startupProbe"]["grpc"]["port"], 50051)
        self.assertIn("limits", c["resources"])
        self.assertEqual(c["args"], ["serve"])
        env = {e["name"]: e for e in c["env"]}
        self.assertEqual(env["TESSERA_PEPPER"]["valueFrom"]["secretKeyRef"]["key"], "pepper")
        ports = {p["name"]: p["port"] for p in objs[("Service", "rel-tessera")]["spec"]["ports"]}
        self.assertEqual(ports, {"grpc": 50051, "http-metrics": 9464})
        # Envoy's Check is on the gRPC port; the proxy proves itself with a credential.
        config = objs[("ConfigMap", "rel-tessera")]["data"]
        self.assertEqual(config["TESSERA_EXT_AUTHZ_AUTH"], "scope")
        self.assertEqual(config["TESSERA_EXT_AUTHZ_KEEP_CREDENTIAL"], "false")
        job = objs[("Job", "rel-tessera-migrate")]
        self.assertEqual(job["metadata"]["annotations"]["helm.sh/hook"],
                         "pre-install,pre-upgrade")
        self.assertEqual(job["spec"]["template"]["spec"]["containers"][0]["args"], ["migrate"])
        secret = objs[("Secret", "rel-tessera")]
        self.assertEqual(secret["metadata"]["annotations"]["helm.sh/hook-weight"], "-10")
        self.assertEqual(len(secret["data"]["key-encryption-key"]), 88)  # 64 hex, base64
        self.assertIn(("PodDisruptionBudget", "rel-tessera"), objs)
        for optional in ("HorizontalPodAutoscaler", "ServiceMonitor", "NetworkPolicy",
                         "PrometheusRule"):
            self.assertNotIn((optional, "rel-tessera"), objs)
        self.assertNotIn(("ConfigMap", "rel-tessera-dashboard"), objs)

    def test_04_every_optional_feature_renders(self):
        objs = self.objects(self.render("all-features"))
        for kind in ("HorizontalPodAutoscaler", "ServiceMonitor", "NetworkPolicy",
                     "PrometheusRule"):
            self.assertIn((kind, "rel-tessera"), objs)
        # The alerts as shipped in rules/ (rules_test.py runs their unit tests), each with its
        # severity and the labels the values add.
        rule = objs[("PrometheusRule", "rel-tessera")]
        self.assertEqual(rule["metadata"]["labels"]["release"], "prometheus")
        alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
        self.assertEqual(len(alerts), 6)
        for alert in alerts:
            self.assertEqual(alert["labels"]["team"], "identity", alert["alert"])
            self.assertIn(alert["labels"]["severity"], ("warning", "critical"), alert["alert"])
        # The dashboard, byte for byte, where Grafana's sidecar finds it.
        dashboard = objs[("ConfigMap", "rel-tessera-dashboard")]
        self.assertEqual(dashboard["metadata"]["labels"]["grafana_dashboard"], "1")
        self.assertEqual(dashboard["metadata"]["annotations"]["grafana_folder"], "Identity")
        with open(os.path.join(self.chart, "dashboards/tessera.json")) as f:
            self.assertEqual(dashboard["data"]["tessera.json"], f.read().rstrip("\n"))
        self.assertIn(("Job", "rel-tessera-bootstrap"), objs)
        self.assertNotIn(("Secret", "rel-tessera"), objs)  # existingSecret is used instead
        pod = objs[("Deployment", "rel-tessera")]["spec"]["template"]["spec"]
        self.assertNotIn("replicas", objs[("Deployment", "rel-tessera")]["spec"])  # the HPA's
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        self.assertEqual(mounts["tls"], "/etc/tessera/tls")
        self.assertEqual(mounts["client-ca"], "/etc/tessera/client-ca")
        # The kubelet's gRPC probe cannot do TLS: the HTTP side port answers instead.
        self.assertEqual(pod["containers"][0]["readinessProbe"]["httpGet"]["path"], "/readyz")
        config = objs[("ConfigMap", "rel-tessera")]["data"]
        self.assertEqual(config["TESSERA_INTROSPECT_AUTH"], "mtls")
        self.assertEqual(config["TESSERA_TLS_CLIENT_CA"], "/etc/tessera/client-ca/ca.crt")
        self.assertEqual(config["TESSERA_ARGON2_MEMORY_KIB"], "19456")
        # With TLS the OAuth port is served, on a port of its own, and reachable.
        self.assertEqual(config["TESSERA_OAUTH_LISTEN"], "0.0.0.0:8443")
        self.assertEqual(config["TESSERA_ISSUER"], "https://id.example.com")
        ports = {p["name"]: p["containerPort"] for p in pod["containers"][0]["ports"]}
        self.assertEqual(ports["oauth"], 8443)
        service = {p["name"]: p for p in objs[("Service", "rel-tessera")]["spec"]["ports"]}
        self.assertEqual((service["oauth"]["port"], service["oauth"]["appProtocol"]),
                         (8443, "https"))
        policy = objs[("NetworkPolicy", "rel-tessera")]["spec"]["ingress"]
        self.assertIn("oauth", [p["port"] for rule in policy for p in rule["ports"]])
        # Envoy's Check: its settings, and the mesh's gateways let through to the gRPC port.
        self.assertEqual((config["TESSERA_EXT_AUTHZ_AUTH"], config["TESSERA_EXT_AUTHZ_HEADER_PREFIX"],
                          config["TESSERA_EXT_AUTHZ_KEEP_CREDENTIAL"]),
                         ("mtls", "x-identity-", "true"))
        grpc_from = next(rule["from"] for rule in policy
                         if [p["port"] for p in rule["ports"]] == ["grpc"])
        self.assertEqual(len(grpc_from), 2)
        self.assertEqual(grpc_from[1]["namespaceSelector"]["matchLabels"],
                         {"kubernetes.io/metadata.name": "istio-system"})
        # The side port keeps the probes: plaintext, nothing secret on it.
        self.assertEqual(pod["containers"][0]["livenessProbe"]["httpGet"]["port"], "http")

    def test_04b_no_oauth_port_without_tls_or_without_an_https_issuer(self):
        objs = self.objects(self.render("default"))
        self.assertEqual(objs[("ConfigMap", "rel-tessera")]["data"]["TESSERA_OAUTH_LISTEN"], "")
        self.assertNotIn("oauth", [p["name"] for p in
                                   objs[("Service", "rel-tessera")]["spec"]["ports"]])
        # With TLS but no https issuer (a release from before the OAuth port): still deployed,
        # without that port (NOTES.txt says why; helm renders NOTES only against a cluster).
        objs = self.objects(self.render("all-features", "--set", "settings.issuer=tessera"))
        self.assertEqual(objs[("ConfigMap", "rel-tessera")]["data"]["TESSERA_OAUTH_LISTEN"], "")
        self.assertNotIn("oauth", [p["name"] for p in
                                   objs[("Service", "rel-tessera")]["spec"]["ports"]])

    def test_05_bad_values_fail_the_schema(self):
        for bad in (["--set", "replicaCount=0"], ["--set", "settings.signingAlg=HS256"],
                    ["--set", "tls.introspectAuth=mtls"], ["--set", "unknownKey=1"],
                    ["--set", "settings.extraEnv.NOT_TESSERA=1"],
                    ["--set", "service.grpcPort=70000"], ["--set", "oauth.threads=0"],
                    ["--set", "prometheusRule.severity=page"],
                    ["--set", "grafanaDashboard.namespace=Not_A_Namespace"],
                    ["--set", "extAuthz.auth=mtls"], ["--set", "extAuthz.auth=none"],
                    ["--set", "extAuthz.auth=mtls", "--set", "tls.clientCaSecretName=ca"],
                    ["--set", "extAuthz.headerPrefix=X-Upper-"],
                    ["--set", "extAuthz.headerPrefix=x-envoy-"],
                    ["--set", "extAuthz.headerPrefix=auth"],
                    ["--set", "grafanaDashboard.enabled=true", "--set",
                     "grafanaDashboard.labels=null"]):
            out = self.run_helm("template", "rel", self.chart, "-f", self.values["default"], *bad)
            self.assertNotEqual(out.returncode, 0, bad)
            self.assertIn("values don't meet the specifications", out.stderr, bad)
        # No database URL and no existing Secret: refused, naming what is missing.
        out = self.run_helm("template", "rel", self.chart)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("secrets.databaseUrl is required", out.stderr)


if __name__ == "__main__":
    ARGS, rest = parse_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
