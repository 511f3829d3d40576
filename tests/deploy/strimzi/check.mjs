// Reads a JSON array of Kubernetes manifests on stdin and validates each Strimzi resource
// against the schema of its apiVersion and kind, as published in Strimzi's CRDs (the
// validators kubernetes-models generates from them). Prints one JSON result per manifest:
// {"kind", "name", "errors": [...]}; the exit code is 0 either way (the caller decides).
import { KafkaTopic as V1beta2KafkaTopic } from "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2/KafkaTopic";
import { KafkaTopic as V1KafkaTopic } from "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/KafkaTopic";

const MODELS = {
  "kafka.strimzi.io/v1beta2/KafkaTopic": V1beta2KafkaTopic,
  "kafka.strimzi.io/v1/KafkaTopic": V1KafkaTopic,
};

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map((manifest) => {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  const name = manifest.metadata?.name ?? null;
  if (!Model) return { kind: manifest.kind, name, errors: [`no schema for ${manifest.apiVersion} ${manifest.kind}`] };
  try {
    new Model(manifest).validate();
    return { kind: manifest.kind, name, errors: [] };
  } catch (error) {
    return { kind: manifest.kind, name, errors: [String(error.message)] };
  }
});
process.stdout.write(JSON.stringify(results));
