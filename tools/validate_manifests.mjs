// Validates rendered Kubernetes manifests (multi-document YAML on stdin) against the
// Kubernetes and Prometheus Operator schemas of the npm packages kubernetes-models and
// @kubernetes-models/prometheus-operator. Prints one line per object; exits 1 on the first
// invalid or unknown one.
import { parseAllDocuments } from "yaml";

const modules = {
  "v1": "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "batch/v1": "kubernetes-models/batch/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "autoscaling/v2": "kubernetes-models/autoscaling/v2",
  "networking.k8s.io/v1": "kubernetes-models/networking.k8s.io/v1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

let input = "";
for await (const chunk of process.stdin) input += chunk;
let count = 0;
for (const doc of parseAllDocuments(input)) {
  const object = doc.toJSON();
  if (!object) continue;
  const where = `${object.apiVersion} ${object.kind} ${object.metadata?.name}`;
  const path = modules[object.apiVersion];
  if (!path) {
    console.error(`no schema for ${where}`);
    process.exit(1);
  }
  const Model = (await import(path))[object.kind];
  if (!Model) {
    console.error(`no schema for ${where}`);
    process.exit(1);
  }
  try {
    new Model(object).validate();
  } catch (e) {
    console.error(`${where}: ${e.message}`);
    process.exit(1);
  }
  console.log(`valid: ${where}`);
  count++;
}
if (count === 0) {
  console.error("no objects");
  process.exit(1);
}
