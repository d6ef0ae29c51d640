// Validates Prometheus Operator objects read as a JSON array on stdin against the operator's
// schemas (compiled validators of @kubernetes-models/prometheus-operator, generated from the
// operator's Go API types). Prints one JSON line per object: {kind, name, error|null}.
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";

const models = { PrometheusRule, ServiceMonitor, PodMonitor };
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
for (const obj of JSON.parse(Buffer.concat(chunks).toString("utf8"))) {
  const Model = models[obj.kind];
  let error = Model ? null : `no schema for kind ${obj.kind}`;
  if (Model) {
    try {
      new Model(obj).validate();
    } catch (e) {
      error = e.message;
    }
  }
  console.log(JSON.stringify({ kind: obj.kind, name: obj.metadata?.name, error }));
}
