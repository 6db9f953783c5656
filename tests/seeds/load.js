// Loads a seed snippet (a file copied verbatim from a seed document) as a module, the way its
// own project would hold it: the names it uses but never defines come from `scope` (what its
// surrounding file would import), `replace` swaps only the addresses and credentials written in
// it, `exports` names what the snippet defines. TypeScript is transpiled by `typescript`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

function transpile(source, file) {
  const ts = require('typescript');
  return ts.transpileModule(source, {
    fileName: file,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  }).outputText;
}

function loadSnippets(files, { scope = {}, replace = {}, exports = [] } = {}) {
  const sources = files.map((name) => {
    const file = path.join(__dirname, name);
    const text = fs.readFileSync(file, 'utf8');
    return name.endsWith('.ts') ? transpile(text, file) : text;
  });
  let source = sources.join('\n');
  for (const [written, actual] of Object.entries(replace)) {
    if (!source.includes(written)) throw new Error(`${files}: ${written} is not in the snippet`);
    source = source.split(written).join(actual);
  }
  const names = Object.keys(scope);
  // One line before the snippet, one after: its own lines stay as written.
  const head = names.length ? `const { ${names.join(', ')} } = module.scope;` : '';
  const tail = `module.exports = { ${exports.join(', ')} };`;
  const file = path.join(__dirname, files[0]);
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(__dirname);
  mod.scope = scope;
  mod._compile(`${head}\n${source}\n${tail}\n`, file);
  return mod.exports;
}

module.exports = { loadSnippets };
