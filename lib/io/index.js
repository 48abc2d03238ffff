'use strict';
// tf.io: model artifacts, IOHandlers and URL routers (file:// and http(s):// are registered
// here), and the weight encoding tfjs uses.

const router = require('./router');
const passthrough = require('./passthrough');
const artifacts = require('./artifacts');
const weights = require('./weights');
const { fileSystem, fileSystemRouter } = require('./file_system');
const { http, browserHTTPRequest, httpRouter, isHTTPScheme } = require('./http');

router.registerSaveRouter(fileSystemRouter);
router.registerLoadRouter(fileSystemRouter);
router.registerSaveRouter(httpRouter);
router.registerLoadRouter(httpRouter);

/**
 * tfjs `io.weightsLoaderFactory(fetchWeights)`: a loader `(manifest, pathPrefix, weightNames?)`
 * that fetches the weight files of the groups holding the wanted weights with
 * `fetchWeights(urls) → Promise<ArrayBuffer[]>` and decodes them.
 */
function weightsLoaderFactory(fetchWeights) {
  return async (manifest, filePathPrefix = '', weightNames) => {
    weights.getWeightSpecs(manifest);
    const wanted = weightNames == null ? null : new Set(weightNames);
    if (wanted) {
      const all = new Set(weights.getWeightSpecs(manifest).map((s) => s.name));
      const missing = [...wanted].filter((n) => !all.has(n));
      if (missing.length > 0) throw new Error(`io.loadWeights: the manifest has no weights named ${missing.join(', ')} (it has ${[...all].join(', ')})`);
    }
    const groups = manifest.filter((g) => wanted == null || g.weights.some((w) => wanted.has(w.name)));
    const join = (p) => filePathPrefix + (filePathPrefix.endsWith('/') || filePathPrefix === '' ? '' : '/') + p;
    const out = {};
    for (const group of groups) {
      const buffers = await fetchWeights(group.paths.map(join));
      const decoded = weights.decodeWeights(buffers, group.weights, 'io.loadWeights');
      for (const [name, t] of Object.entries(decoded)) {
        if (wanted == null || wanted.has(name)) out[name] = t;
        else t.dispose();
      }
    }
    return out;
  };
}

/** tfjs `io.loadWeights(manifest, pathPrefix, weightNames?, requestInit?)`, over fetch. */
function loadWeights(manifest, filePathPrefix = '', weightNames, requestInit) {
  const fetchAll = (urls) => Promise.all(urls.map(async (u) => {
    const r = await fetch(u, requestInit);
    if (!r.ok) throw new Error(`io.loadWeights: the request for ${u} failed with HTTP status ${r.status}`);
    return r.arrayBuffer();
  }));
  return weightsLoaderFactory(fetchAll)(manifest, filePathPrefix, weightNames);
}

const io = {
  registerSaveRouter: router.registerSaveRouter,
  registerLoadRouter: router.registerLoadRouter,
  getSaveHandlers: router.getSaveHandlers,
  getLoadHandlers: router.getLoadHandlers,
  fromMemory: passthrough.fromMemory,
  fromMemorySync: passthrough.fromMemorySync,
  withSaveHandler: passthrough.withSaveHandler,
  withSaveHandlerSync: passthrough.withSaveHandlerSync,
  encodeWeights: weights.encodeWeights,
  decodeWeights: (weightData, specs) => weights.decodeWeights(weightData, specs),
  concatenateArrayBuffers: weights.concatenateArrayBuffers,
  CompositeArrayBuffer: weights.CompositeArrayBuffer,
  getWeightSpecs: weights.getWeightSpecs,
  getModelArtifactsInfoForJSON: artifacts.getModelArtifactsInfoForJSON,
  getModelArtifactsForJSON: artifacts.getModelArtifactsForJSON,
  getModelArtifactsForJSONSync: artifacts.getModelArtifactsForJSONSync,
  http,
  browserHTTPRequest,
  isHTTPScheme,
  fileSystem,
  loadWeights,
  weightsLoaderFactory,
};

module.exports = { io };
