'use strict';
// file:// — models on the local disk, as tfjs-node stores them: `model.json` (topology, weights
// manifest, ...) next to `weights.bin`. A save writes both to temporary files first and renames
// them into place only once everything is written, so a failed save leaves an earlier model as
// it was. Loading reads model.json (or `<dir>/model.json`) and every weight file its manifest
// lists (converter models come in shards such as `group1-shard1of3.bin`).

const fs = require('fs');
const path = require('path');
const { getModelArtifactsInfoForJSON, getModelArtifactsForJSON, parseModelJSON } = require('./artifacts');
const { CompositeArrayBuffer } = require('./weights');

const URL_SCHEME = 'file://';
const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

let tmpCounter = 0;

function tmpName(dir, file) {
  tmpCounter += 1;
  return path.join(dir, `.${file}.${process.pid}.${tmpCounter}.tmp`);
}

async function removeQuietly(file) {
  try {
    await fs.promises.unlink(file);
  } catch (e) {
    void e;
  }
}

class NodeFileSystem {
  constructor(filePath) {
    if (Array.isArray(filePath)) {
      throw new Error('io.fileSystem: ferrograd loads layers models from one model.json path (binary graph models are not supported)');
    }
    if (typeof filePath !== 'string' || filePath.length === 0) {
      throw new Error(`io.fileSystem: expected a non-empty path, got ${JSON.stringify(filePath)}`);
    }
    this.path = path.resolve(filePath);
  }

  async save(artifacts) {
    if (artifacts == null || typeof artifacts !== 'object') throw new Error('save (file://): expected model artifacts');
    if (artifacts.modelTopology instanceof ArrayBuffer) {
      throw new Error('save (file://): saving a binary model topology is not supported');
    }
    const dir = this.path;
    let info = null;
    try {
      info = await fs.promises.stat(dir);
    } catch (e) {
      if (e.code !== 'ENOENT') throw new Error(`save (file://): cannot use ${dir}: ${e.message}`);
    }
    if (info != null && !info.isDirectory()) {
      throw new Error(`save (file://): ${dir} exists and is not a directory; the path must be a directory or not exist`);
    }
    if (info == null) {
      try {
        await fs.promises.mkdir(dir, { recursive: true });
      } catch (e) {
        throw new Error(`save (file://): cannot create the directory ${dir}: ${e.message}`);
      }
    }
    // tfjs-node's model.json: these keys, in this order.
    const modelJSON = {
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
    };
    for (const k of ['trainingConfig', 'signature', 'userDefinedMetadata']) {
      if (artifacts[k] != null) modelJSON[k] = artifacts[k];
    }
    const jsonText = JSON.stringify(modelJSON);
    const weights = Buffer.from(new CompositeArrayBuffer(artifacts.weightData == null ? [] : artifacts.weightData).slice());
    const files = [[WEIGHTS_BIN, weights], [MODEL_JSON, jsonText]];
    const temps = files.map(([name]) => tmpName(dir, name));
    try {
      for (let i = 0; i < files.length; i++) await fs.promises.writeFile(temps[i], files[i][1]);
      // model.json last: a reader never sees a new model.json before its weights.
      for (let i = 0; i < files.length; i++) await fs.promises.rename(temps[i], path.join(dir, files[i][0]));
    } catch (e) {
      await Promise.all(temps.map(removeQuietly));
      throw new Error(`save (file://): writing the model to ${dir} failed: ${e.message}`);
    }
    return { modelArtifactsInfo: getModelArtifactsInfoForJSON(artifacts) };
  }

  async load() {
    let jsonPath = this.path;
    let info;
    try {
      info = await fs.promises.stat(jsonPath);
    } catch (e) {
      if (e.code === 'ENOENT') throw new Error(`load (file://): ${jsonPath} does not exist`);
      throw new Error(`load (file://): cannot read ${jsonPath}: ${e.message}`);
    }
    if (info.isDirectory()) {
      jsonPath = path.join(jsonPath, MODEL_JSON);
      if (!fs.existsSync(jsonPath)) throw new Error(`load (file://): the directory ${this.path} has no ${MODEL_JSON}`);
    }
    const modelJSON = parseModelJSON(await fs.promises.readFile(jsonPath, 'utf8'), `load (file://): ${jsonPath}`);
    const dir = path.dirname(jsonPath);
    return getModelArtifactsForJSON(modelJSON, async (manifest) => {
      const buffers = [];
      const specs = [];
      for (const group of manifest) {
        for (const p of group.paths) {
          const file = path.resolve(dir, p);
          try {
            buffers.push(await fs.promises.readFile(file));
          } catch (e) {
            if (e.code === 'ENOENT') throw new Error(`load (file://): the weight file ${file} listed in ${jsonPath} does not exist`);
            throw new Error(`load (file://): cannot read the weight file ${file}: ${e.message}`);
          }
        }
        specs.push(...group.weights);
      }
      return [specs, new CompositeArrayBuffer(buffers).slice()];
    });
  }
}

/** tfjs-node's `tf.io.fileSystem(path)`. */
function fileSystem(filePath) {
  return new NodeFileSystem(filePath);
}

function fileSystemRouter(url) {
  if (typeof url !== 'string' || !url.startsWith(URL_SCHEME)) return null;
  return new NodeFileSystem(url.slice(URL_SCHEME.length));
}

module.exports = { NodeFileSystem, fileSystem, fileSystemRouter };
