'use strict';
// URL routers (tfjs `io.registerSaveRouter`/`registerLoadRouter`): functions that map a URL
// string such as 'file:///tmp/model' to an IOHandler, or return null when it is not theirs.

const saveRouters = [];
const loadRouters = [];

function checkRouter(router, op) {
  if (typeof router !== 'function') throw new Error(`io.${op}: a router must be a function (url) => IOHandler | null, got ${router === null ? 'null' : typeof router}`);
}

function registerSaveRouter(router) {
  checkRouter(router, 'registerSaveRouter');
  saveRouters.push(router);
}

function registerLoadRouter(router) {
  checkRouter(router, 'registerLoadRouter');
  loadRouters.push(router);
}

function handlersFor(routers, url, loadOptions) {
  const out = [];
  for (const router of routers) {
    const handler = router(url, loadOptions);
    if (handler != null) out.push(handler);
  }
  return out;
}

/** The save handlers whose routers accept `url`. */
function getSaveHandlers(url) {
  return handlersFor(saveRouters, url);
}

/** The load handlers whose routers accept `url`. */
function getLoadHandlers(url, loadOptions) {
  return handlersFor(loadRouters, url, loadOptions);
}

module.exports = { registerSaveRouter, registerLoadRouter, getSaveHandlers, getLoadHandlers };
