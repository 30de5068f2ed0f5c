// Parses a Mermaid file with the mermaid npm package (a DOM from jsdom, which mermaid needs
// even to parse), for tests/pictures.rs. scripts/test.sh copies this next to its
// node_modules in target/mermaid. Exit 0 and "parsed <type>" on success, 1 and the parser's
// message otherwise.
import fs from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
const text = fs.readFileSync(process.argv[2], 'utf8');
try {
  const parsed = await mermaid.parse(text);
  console.log(`parsed ${parsed.diagramType}`);
} catch (error) {
  console.error(String(error.message ?? error));
  process.exit(1);
}
