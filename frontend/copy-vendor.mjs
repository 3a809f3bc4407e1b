// Copies the built files of our npm packages into static/vendor, which Luoshi serves (git-ignored).
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vendor = join(here, "static", "vendor");
mkdirSync(vendor, { recursive: true });
const files = [
  ["htmx.org/dist/htmx.min.js", "htmx.min.js"],
  ["axe-core/axe.min.js", "axe.min.js"],
];
for (const [source, target] of files) {
  const path = join(here, "node_modules", source);
  if (existsSync(path)) copyFileSync(path, join(vendor, target));
  else if (!source.startsWith("axe-core")) throw new Error(`missing ${path}: run npm install`);
}
