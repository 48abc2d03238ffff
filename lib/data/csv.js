'use strict';
// tf.data.csv: rows of a CSV file (a 'file://' URL, a path, or an http(s) URL) as objects keyed
// by column name, or `{xs, ys}` when some columns are labels. Parsing follows tfjs 4.22 to
// the character: lines split on '\n' (a trailing '\r' dropped), fields on the delimiter,
// a quoted field kept verbatim between its outer quotes, numbers read with `Number()`.

const fs = require('fs');
const { StringDecoder } = require('string_decoder');
const { Dataset } = require('./dataset');
const { LazyIterator, mapIterator, skipIterator } = require('./iterators');

const CONFIG_KEYS = ['hasHeader', 'columnNames', 'columnConfigs', 'configuredColumnsOnly', 'delimiter', 'delimWhitespace'];
const COLUMN_KEYS = ['required', 'dtype', 'default', 'isLabel'];
const DTYPES = ['float32', 'int32', 'bool', 'string'];
const CHUNK_BYTES = 1 << 18;

// ---- lines ----------------------------------------------------------------------------------

function sourcePath(source) {
  if (source.startsWith('file://')) return source.slice(7);
  return /^https?:\/\//i.test(source) ? null : source;
}

/** The text of `source` in chunks: a file read piece by piece, or a URL fetched whole. */
async function* textChunks(source) {
  const path = sourcePath(source);
  if (path === null) {
    const res = await fetch(source);
    if (!res.ok) throw new Error(`tf.data.csv: fetching ${source} failed: ${res.status} ${res.statusText}`);
    yield await res.text();
    return;
  }
  const decoder = new StringDecoder('utf8');
  const buf = Buffer.alloc(CHUNK_BYTES);
  // The file is opened per chunk, so a pass abandoned half-way holds no descriptor.
  for (let pos = 0; ;) {
    let n;
    const fh = await fs.promises.open(path, 'r').catch((e) => { throw new Error(`tf.data.csv: cannot read ${source}: ${e.message}`); });
    try {
      ({ bytesRead: n } = await fh.read(buf, 0, CHUNK_BYTES, pos));
    } finally {
      await fh.close();
    }
    if (n === 0) break;
    pos += n;
    yield decoder.write(buf.subarray(0, n));
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

/** The lines of `source`; the text after the last '\n' is a line only when not empty. */
function lineIterator(source) {
  const gen = (async function* lines() {
    let carry = '';
    for await (const chunk of textChunks(source)) {
      const parts = (carry + chunk).split('\n');
      carry = parts.pop();
      for (const line of parts) yield line.endsWith('\r') ? line.slice(0, -1) : line;
    }
    if (carry !== '') yield carry.endsWith('\r') ? carry.slice(0, -1) : carry;
  })();
  return new LazyIterator(() => gen.next().then((r) => (r.done ? { value: null, done: true } : r)));
}

// ---- fields ---------------------------------------------------------------------------------

// Where the scanner is: between fields, inside an unquoted field, inside quotes, just after a
// quote inside quotes, or past a quote that did not close the field.
const BETWEEN = 0;
const PLAIN = 1;
const QUOTED = 2;
const QUOTE_SEEN = 3;
const AFTER_STRAY_QUOTE = 4;

/**
 * The fields of one line. `collapse` (delimWhitespace) makes runs of the space delimiter one
 * separator. A field opened by a quote runs to the quote before the next delimiter; the text
 * between those quotes is kept as it is (doubled quotes stay doubled, as in tfjs).
 */
function splitFields(line, delimiter, collapse) {
  const fields = [];
  let state = BETWEEN;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (state === BETWEEN) {
      if (ch === '"') { start = i + 1; state = QUOTED; }
      else if (ch === delimiter) { start = i + 1; if (!collapse) fields.push(''); }
      else { start = i; state = PLAIN; }
    } else if (state === PLAIN) {
      if (ch === delimiter) { fields.push(line.slice(start, i)); start = i + 1; state = BETWEEN; }
    } else if (state === QUOTED) {
      if (ch === '"') state = QUOTE_SEEN;
    } else if (state === QUOTE_SEEN) {
      if (ch === delimiter) { fields.push(line.slice(start, i - 1)); start = i + 1; state = BETWEEN; }
      else state = ch === '"' ? QUOTED : AFTER_STRAY_QUOTE;
    } else if (ch === '"') {
      state = QUOTED;
    }
  }
  fields.push(state === QUOTE_SEEN ? line.slice(start, line.length - 1) : line.slice(start));
  return fields;
}

// tfjs reads '1' and any casing of 'true' as 1, everything else as 0.
const asBool = (s) => (s === '1' || s.toLowerCase() === 'true' ? 1 : 0);

/** One field as tfjs reads it: a number when `Number()` can read it, else the string. */
function parseField(text, config) {
  const dtype = config ? config.dtype : undefined;
  const n = Number(text);
  if (Number.isNaN(n)) return dtype === 'bool' ? asBool(text) : text;
  if (dtype === 'int32') return Math.floor(n);
  if (dtype === 'bool') return asBool(text);
  return n;
}

// ---- the dataset ------------------------------------------------------------------------------

function checkConfig(config) {
  if (config == null || typeof config !== 'object' || Array.isArray(config)) {
    throw new Error(`tf.data.csv: the config must be an object {hasHeader, columnNames, columnConfigs, ...}, but got ${Array.isArray(config) ? 'an array' : typeof config}`);
  }
  for (const k of Object.keys(config)) {
    if (!CONFIG_KEYS.includes(k)) throw new Error(`tf.data.csv: unknown config key '${k}' (known: ${CONFIG_KEYS.join(', ')})`);
  }
  if (config.delimWhitespace && config.delimiter != null) {
    throw new Error('tf.data.csv: give either delimiter or delimWhitespace: true, not both');
  }
  if (config.delimiter != null && !(typeof config.delimiter === 'string' && config.delimiter.length === 1)) {
    throw new Error(`tf.data.csv: delimiter must be a single character, but got ${JSON.stringify(config.delimiter)}`);
  }
  if (config.columnNames != null && !(Array.isArray(config.columnNames) && config.columnNames.every((c) => typeof c === 'string'))) {
    throw new Error('tf.data.csv: columnNames must be an array of strings');
  }
  const cc = config.columnConfigs;
  if (cc != null) {
    if (typeof cc !== 'object' || Array.isArray(cc)) throw new Error('tf.data.csv: columnConfigs must be an object of column name → {required, dtype, default, isLabel}');
    for (const [name, c] of Object.entries(cc)) {
      if (c == null || typeof c !== 'object') throw new Error(`tf.data.csv: columnConfigs.${name} must be an object {required, dtype, default, isLabel}`);
      for (const k of Object.keys(c)) {
        if (!COLUMN_KEYS.includes(k)) throw new Error(`tf.data.csv: unknown key '${k}' in columnConfigs.${name} (known: ${COLUMN_KEYS.join(', ')})`);
      }
      if (c.dtype != null && !DTYPES.includes(c.dtype)) {
        throw new Error(`tf.data.csv: columnConfigs.${name}.dtype must be one of ${DTYPES.join(', ')}, but got '${c.dtype}'`);
      }
    }
  }
}

/** The Dataset tf.data.csv returns; `columnNames()` resolves to the columns of its elements. */
class CSVDataset extends Dataset {
  constructor(source, config = {}) {
    super();
    if (typeof source !== 'string') throw new Error(`tf.data.csv: source must be a 'file://' URL, a path or an http(s) URL, but got ${source === null ? 'null' : typeof source}`);
    checkConfig(config);
    this.source = source;
    this.hasHeader = config.hasHeader !== false;
    this.fullColumnNames = config.columnNames != null ? config.columnNames.slice() : null;
    this.columnConfigs = config.columnConfigs || null;
    this.configuredColumnsOnly = !!config.configuredColumnsOnly;
    this.delimWhitespace = !!config.delimWhitespace;
    this.delimiter = this.delimWhitespace ? ' ' : config.delimiter || ',';
    this._validated = null;
  }

  /** The names of the columns in each element (only the configured ones with configuredColumnsOnly). */
  async columnNames() {
    await this._setColumnNames();
    return this.configuredColumnsOnly && this.columnConfigs ? Object.keys(this.columnConfigs) : this.fullColumnNames.slice();
  }

  _setColumnNames() {
    if (this._validated === null) {
      this._validated = this._readColumnNames().catch((e) => { this._validated = null; throw e; });
    }
    return this._validated;
  }

  async _readColumnNames() {
    let header = null;
    if (this.hasHeader) {
      const first = await lineIterator(this.source).next();
      if (first.done) throw new Error(`tf.data.csv: ${this.source} has no data (expected a header line)`);
      header = splitFields(first.value, this.delimiter, this.delimWhitespace);
    }
    if (this.fullColumnNames == null && header == null) {
      throw new Error('tf.data.csv: columnNames must be given when hasHeader is false');
    }
    if (this.fullColumnNames != null && header != null && header.length !== this.fullColumnNames.length) {
      throw new Error(`tf.data.csv: columnNames has ${this.fullColumnNames.length} names, but the header line of ${this.source} has ${header.length} columns`);
    }
    if (this.fullColumnNames == null) this.fullColumnNames = header;
    const seen = new Set();
    const dups = new Set();
    for (const n of this.fullColumnNames) (seen.has(n) ? dups : seen).add(n);
    if (dups.size > 0) throw new Error(`tf.data.csv: duplicate column names: ${[...dups].join(', ')}`);
    for (const key of Object.keys(this.columnConfigs || {})) {
      if (!seen.has(key)) throw new Error(`tf.data.csv: columnConfigs has '${key}', which is not a column (columns: ${this.fullColumnNames.join(', ')})`);
    }
  }

  async iterator() {
    await this._setColumnNames();
    let lines = lineIterator(this.source);
    let lineNo = 0;
    if (this.hasHeader) {
      lines = skipIterator(lines, 1);
      lineNo = 1;
    }
    return mapIterator(lines, (line) => this._element(line, ++lineNo), true);
  }

  _element(line, lineNo) {
    const names = this.fullColumnNames;
    const values = splitFields(line, this.delimiter, this.delimWhitespace);
    if (values.length !== names.length) {
      throw new Error(`tf.data.csv: line ${lineNo} of ${this.source} has ${values.length} field(s), but there are ${names.length} columns (${names.join(', ')}): ${JSON.stringify(line)}`);
    }
    const features = {};
    const labels = {};
    let hasLabels = false;
    for (let i = 0; i < names.length; i++) {
      const key = names[i];
      const config = this.columnConfigs ? this.columnConfigs[key] : undefined;
      if (this.configuredColumnsOnly && !config) continue;
      let value;
      if (values[i] === '') {
        if (config && config.default !== undefined) value = config.default;
        else if (config && (config.required || config.isLabel)) {
          throw new Error(`tf.data.csv: required column '${key}' is empty in line ${lineNo} of ${this.source}: ${JSON.stringify(line)}`);
        }
      } else {
        value = parseField(values[i], config);
      }
      if (config && config.isLabel) {
        labels[key] = value;
        hasLabels = true;
      } else {
        features[key] = value;
      }
    }
    return hasLabels ? { xs: features, ys: labels } : features;
  }
}

/** tf.data.csv(source, config). */
function csv(source, config = {}) {
  return new CSVDataset(source, config);
}

module.exports = { CSVDataset, csv, splitFields };
