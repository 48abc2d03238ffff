'use strict';
// IOHandlers over model artifacts already in memory: `fromMemory` (load what you hold) and
// `withSaveHandler` (save by calling your function), as tfjs has them.

/**
 * An IOHandler whose `load` returns the given artifacts: `fromMemory(modelArtifacts)`, or the
 * older `fromMemory(modelTopology, weightSpecs, weightData, trainingConfig)`.
 */
function fromMemorySync(modelArtifacts, weightSpecs, weightData, trainingConfig) {
  let artifacts;
  if (arguments.length === 1) {
    if (modelArtifacts == null || typeof modelArtifacts !== 'object') {
      throw new Error(`io.fromMemory: expected model artifacts {modelTopology, weightSpecs, weightData, ...}, got ${modelArtifacts === null ? 'null' : typeof modelArtifacts}`);
    }
    const isArtifacts = modelArtifacts.modelTopology != null || modelArtifacts.weightSpecs != null;
    artifacts = isArtifacts ? modelArtifacts : { modelTopology: modelArtifacts };
  } else {
    artifacts = { modelTopology: modelArtifacts, weightSpecs, weightData, trainingConfig };
  }
  return { load: () => artifacts };
}

function fromMemory(...args) {
  const sync = fromMemorySync(...args);
  return { load: async () => sync.load() };
}

function checkSaveFn(saveHandler, op) {
  if (typeof saveHandler !== 'function') {
    throw new Error(`io.${op}: expected a function (modelArtifacts) => SaveResult, got ${saveHandler === null ? 'null' : typeof saveHandler}`);
  }
}

/** An IOHandler whose `save` calls `saveHandler(modelArtifacts)`. */
function withSaveHandler(saveHandler) {
  checkSaveFn(saveHandler, 'withSaveHandler');
  return { save: async (artifacts) => saveHandler(artifacts) };
}

function withSaveHandlerSync(saveHandler) {
  checkSaveFn(saveHandler, 'withSaveHandlerSync');
  return { save: (artifacts) => saveHandler(artifacts) };
}

module.exports = { fromMemory, fromMemorySync, withSaveHandler, withSaveHandlerSync };
