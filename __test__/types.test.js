'use strict';
// index.d.ts, checked with the TypeScript compiler: the sample programs in __test__/types compile
// under `strict` with no diagnostics, wrong calls are rejected, and every name the runtime exports
// is declared (so the declarations cannot silently fall behind the code).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.join(__dirname, '..');
const TYPES_DIR = path.join(__dirname, 'types');
const INDEX_DTS = path.join(ROOT, 'index.d.ts');

function loadConfig() {
  const file = path.join(TYPES_DIR, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(file, ts.sys.readFile);
  if (error) throw new Error(format([error]));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, TYPES_DIR, undefined, file);
  if (parsed.errors.length > 0) throw new Error(format(parsed.errors));
  return parsed;
}

// Parsed files on disk (the lib .d.ts files are large), shared by the compilations below.
const parsedFiles = new Map();

/** Compiles `rootNames` plus in-memory `virtual` files ({absolute path: source}). */
function compile(rootNames, options, virtual = {}) {
  const host = ts.createCompilerHost(options, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => f in virtual || fileExists.call(host, f);
  host.readFile = (f) => (f in virtual ? virtual[f] : readFile.call(host, f));
  host.getSourceFile = (f, languageVersion, ...rest) => {
    if (f in virtual) return ts.createSourceFile(f, virtual[f], languageVersion, true);
    if (!parsedFiles.has(f)) parsedFiles.set(f, getSourceFile.call(host, f, languageVersion, ...rest));
    return parsedFiles.get(f);
  };
  return ts.createProgram({ rootNames: [...rootNames, ...Object.keys(virtual)], options, host });
}

/** Diagnostics of the whole program, or of one of its files. */
function diagnosticsOf(program, file) {
  if (file === undefined) return ts.getPreEmitDiagnostics(program);
  const source = program.getSourceFile(file);
  return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
}

function format(diagnostics) {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => ROOT,
    getNewLine: () => '\n',
  });
}

const config = loadConfig();

test('the typed samples (sample.ts, negative.ts, esm.mts) compile under strict with no diagnostics', () => {
  assert.ok(config.fileNames.some((f) => f.endsWith('sample.ts')), 'tsconfig.json must include sample.ts');
  const program = compile(config.fileNames, config.options);
  const diagnostics = diagnosticsOf(program);
  assert.equal(diagnostics.length, 0, `TypeScript ${ts.version} reported:\n${format(diagnostics)}`);
  // The samples must see index.d.ts through the package's "exports", not some other typing.
  assert.ok(program.getSourceFile(INDEX_DTS), 'index.d.ts was not part of the program');
});

test('a wrong call is a diagnostic: tf.add with a string', () => {
  const file = path.join(TYPES_DIR, '__virtual_wrong_call__.ts');
  const ok = "import * as tf from 'ferrograd';\nexport const y = tf.add(tf.scalar(1), 2);\n";
  const wrong = "import * as tf from 'ferrograd';\nexport const y = tf.add('one', 2);\n";

  // The same harness with a correct call compiles cleanly, so the failure below is the call's.
  const good = diagnosticsOf(compile([], config.options, { [file]: ok }), file);
  assert.equal(good.length, 0, format(good));

  const bad = diagnosticsOf(compile([], config.options, { [file]: wrong }), file);
  assert.equal(bad.length, 1, format(bad));
  const [d] = bad;
  assert.equal(d.code, 2345, format(bad)); // Argument of type … is not assignable
  assert.equal(d.file.getLineAndCharacterOfPosition(d.start).line, 1);
  assert.match(ts.flattenDiagnosticMessageText(d.messageText, '\n'), /"one"/);
});

test('every runtime export, namespace member and Tensor method is declared in index.d.ts', (t) => {
  let tf;
  try {
    tf = require('..');
  } catch (e) {
    t.skip(`the native addon is not built (${e.message.split('\n')[0]})`);
    return;
  }
  const program = compile([INDEX_DTS], config.options);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(INDEX_DTS);
  const resolve = (s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const exported = new Map(
    checker.getExportsOfModule(checker.getSymbolAtLocation(source)).map((s) => [s.name, resolve(s)]),
  );
  const valueNames = new Set([...exported].filter(([, s]) => s.flags & ts.SymbolFlags.Value).map(([n]) => n));
  const membersOf = (name) => {
    const symbol = exported.get(name);
    const type = symbol.flags & ts.SymbolFlags.Class ? checker.getDeclaredTypeOfSymbol(symbol) : checker.getTypeOfSymbol(symbol);
    return new Set(checker.getPropertiesOfType(type).map((p) => p.name));
  };
  // Internal names index.js exposes for tests and for ops' own use; not part of the API.
  const internal = new Set(['wrap', 'fusedMatMul']);
  const isPublic = (name) => !name.startsWith('_') && name !== 'constructor';

  const missing = [];
  for (const name of Object.keys(tf).filter(isPublic)) {
    if (internal.has(name)) continue;
    if (!valueNames.has(name)) {
      missing.push(`tf.${name}`);
      continue;
    }
    const value = tf[name];
    if (name !== 'default' && value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const declared = membersOf(name);
      for (const key of Object.keys(value).filter(isPublic)) if (!declared.has(key)) missing.push(`tf.${name}.${key}`);
    }
  }
  for (const cls of ['Tensor', 'Variable', 'TensorBuffer']) {
    const declared = membersOf(cls);
    for (const key of Object.getOwnPropertyNames(tf[cls].prototype).filter(isPublic)) {
      if (!declared.has(key)) missing.push(`${cls}.prototype.${key}`);
    }
  }
  assert.deepEqual(missing, [], `index.d.ts does not declare: ${missing.join(', ')}`);
  assert.equal(tf.default, tf, 'the default export is the namespace itself');
});
