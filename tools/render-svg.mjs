// Renders Graphviz DOT to SVG with the WebAssembly build of Graphviz
// (@viz-js/viz, pinned in package.json), so `make docs` needs no system
// Graphviz. Reads [{"dot": "...", "svg": "path"}, ...] as JSON on stdin and
// writes each SVG; a DOT that Graphviz rejects fails the run with its errors.
import { readFileSync, writeFileSync } from "node:fs";
import { instance } from "@viz-js/viz";

const jobs = JSON.parse(readFileSync(0, "utf8"));
const viz = await instance();
for (const job of jobs) {
  const result = viz.render(job.dot, { format: "svg" });
  if (result.status !== "success") {
    const errors = result.errors.map((e) => `${e.level}: ${e.message}`).join("\n");
    console.error(`${job.svg}: Graphviz ${viz.graphvizVersion} failed:\n${errors}`);
    process.exit(1);
  }
  for (const e of result.errors) console.error(`${job.svg}: Graphviz ${e.level}: ${e.message}`);
  writeFileSync(job.svg, result.output);
}
