/* Sésame — loads the browser agent on the signed-in pages.
   The agent (wasm/, Go compiled to WebAssembly) detects inactivity, warns,
   logs out and sends the heartbeats that keep the seat. This script reads
   /agent/agent.json, loads the wasm_exec.js of the Go that built the
   module, instantiates the module and runs it. Without a build (no
   agent.json) the page works without the agent.

   Loaded with defer after sesame.js: the agent uses window.Sesame. */
'use strict';

(function () {
  if (!window.WebAssembly || !window.fetch || !window.Sesame) return;
  const BASE = '/agent/';
  const perf = window.performance;

  function mark(name) {
    try {
      perf.mark(name);
    } catch (e) {
      /* no User Timing: nothing measured */
    }
  }

  function script(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error('chargement de ' + src + ' impossible'));
      document.head.append(s);
    });
  }

  async function instantiate(url, imports) {
    if (WebAssembly.instantiateStreaming) {
      try {
        const r = await WebAssembly.instantiateStreaming(fetch(url, { credentials: 'same-origin' }), imports);
        return r.instance;
      } catch (e) {
        /* served without application/wasm, say: compile the bytes instead */
      }
    }
    const res = await fetch(url, { credentials: 'same-origin' });
    if (!res.ok) throw new Error('module : HTTP ' + res.status);
    const r = await WebAssembly.instantiate(await res.arrayBuffer(), imports);
    return r.instance;
  }

  async function start() {
    mark('sesame-agent:start');
    const res = await fetch(BASE + 'agent.json', { cache: 'no-cache', credentials: 'same-origin' });
    if (res.status === 404) return; // no agent built
    if (!res.ok) throw new Error('manifeste : HTTP ' + res.status);
    const manifest = await res.json();
    await script(BASE + manifest.exec);
    const go = new window.Go();
    const instance = await instantiate(BASE + manifest.wasm, go.importObject);
    mark('sesame-agent:instantiated');
    try {
      perf.measure('sesame-agent:load', 'sesame-agent:start', 'sesame-agent:instantiated');
    } catch (e) {
      /* no User Timing */
    }
    await go.run(instance);
  }

  start().catch((e) => {
    // The page still works; only the automatic disconnection and the
    // heartbeats are missing (the seat lapses after its lease).
    console.warn('Sésame : agent indisponible —', e && e.message);
  });
})();
