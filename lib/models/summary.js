'use strict';
// model.summary() in tfjs's layout: a table of layers with input/output shapes and parameter
// counts (plus the layers each receives inputs from, for non-sequential graphs), then totals.

function shapeText(s) {
  return typeof s === 'string' ? s : JSON.stringify(s);
}

function printRow(fields, positions, printFn) {
  let line = '';
  fields.forEach((f, i) => {
    if (i > 0) line = line.slice(0, line.length - 1) + ' ';
    line += f;
    line = line.slice(0, positions[i]);
    line += ' '.repeat(positions[i] - line.length);
  });
  printFn(line);
}

function sequentialLike(model) {
  const nodes = model._nodes || [];
  const perLayer = new Map();
  for (const n of nodes) {
    if (n.inputs.length > 1) return false;
    perLayer.set(n.layer, (perLayer.get(n.layer) || 0) + 1);
  }
  return [...perLayer.values()].every((c) => c <= 1);
}

// A shape as the summary shows it: batch dimension unknown.
function unbatched(s) {
  return s == null ? 'multiple' : [null, ...s.slice(1)];
}

/** Rows of a subclassed model: the layers it holds, with the shapes their last call saw. */
function subclassedRows(model) {
  if (!model.built || !model.layers.every((l) => l.built)) {
    throw new Error(`summary: ${model.name} has not been built yet; call it on data (fit, predict or apply) first, so its layers know their shapes`);
  }
  return model.layers.map((l) => {
    const io = l._lastShapes;
    const shapes = (list) => (list == null ? 'multiple' : (list.length === 1 ? unbatched(list[0]) : list.map(unbatched)));
    return { layer: l, inShapes: io ? shapes(io.in) : 'multiple', outShapes: io ? shapes(io.out) : 'multiple' };
  });
}

function printSummary(model, lineLength, positions, printFn = console.log) {
  if (model._isSubclassed && model._isSubclassed()) {
    const rows = subclassedRows(model);
    lineLength = lineLength || 90;
    positions = positions || [0.32, 0.61, 0.89, 1];
    if (positions[positions.length - 1] <= 1) positions = positions.map((p) => Math.floor(lineLength * p));
    printFn(`Model: "${model.name}"`);
    printFn('_'.repeat(lineLength));
    printRow(['Layer (type)', 'Input Shape', 'Output shape', 'Param #'], positions, printFn);
    printFn('='.repeat(lineLength));
    rows.forEach((r, k) => {
      printRow([`${r.layer.name} (${r.layer.getClassName()})`, shapeText(r.inShapes), shapeText(r.outShapes), String(r.layer.countParams())], positions, printFn);
      printFn(k === rows.length - 1 ? '='.repeat(lineLength) : '_'.repeat(lineLength));
    });
    printTotals(model, lineLength, printFn);
    return;
  }
  const seq = sequentialLike(model);
  const cols = seq ? ['Layer (type)', 'Input Shape', 'Output shape', 'Param #'] : ['Layer (type)', 'Input Shape', 'Output shape', 'Param #', 'Receives inputs'];
  lineLength = lineLength || (seq ? 90 : 115);
  positions = positions || (seq ? [0.32, 0.61, 0.89, 1] : [0.24, 0.48, 0.7, 0.8, 1]);
  if (positions[positions.length - 1] <= 1) positions = positions.map((p) => Math.floor(lineLength * p));
  printFn('_'.repeat(lineLength));
  printRow(cols, positions, printFn);
  printFn('='.repeat(lineLength));
  const nodes = (model._nodes || []).filter((n) => model.layers.includes(n.layer));
  nodes.forEach((node, k) => {
    const l = node.layer;
    const inShapes = node.inputs.length > 0 ? node.inputs.map((t) => t.shape) : [l.batchInputShape];
    const outShapes = node.outputs.map((t) => t.shape);
    const fields = [`${l.name} (${l.getClassName()})`, shapeText(inShapes), shapeText(outShapes.length === 1 ? outShapes[0] : outShapes), String(l.countParams())];
    if (seq) {
      printRow(fields, positions, printFn);
    } else {
      const sources = node.inputs.map((t) => `${t.sourceLayer.name}[0][${t.outputIndex}]`);
      printRow([...fields, sources[0] || ''], positions, printFn);
      for (const s of sources.slice(1)) printRow(['', '', '', '', s], positions, printFn);
    }
    printFn(k === nodes.length - 1 ? '='.repeat(lineLength) : '_'.repeat(lineLength));
  });
  printTotals(model, lineLength, printFn);
}

function printTotals(model, lineLength, printFn) {
  const count = (ws) => ws.reduce((n, w) => n + w.size, 0);
  const trainable = count(model.trainableWeights);
  const nonTrainable = count(model.nonTrainableWeights);
  printFn(`Total params: ${trainable + nonTrainable}`);
  printFn(`Trainable params: ${trainable}`);
  printFn(`Non-trainable params: ${nonTrainable}`);
  printFn('_'.repeat(lineLength));
}

module.exports = { printSummary };
