// Following something that runs in the gateway (a discovery job, a migration run): show it, ask
// for it again about once a second while its state is "running", and stop when it ends, when
// another one is followed, or on stop() (the user forgot the credential). An answer to a request
// sent before a follow() or stop() is dropped, so an old job never comes back on screen.

const POLL_MS = 1000;

// `load(id)` fetches the current document, `show(doc)` draws it, `failed(error)` shows a failed
// request (polling goes on, slower), `ended(doc)` is called once when it is no longer running.
export function follower({ load, show, failed, ended = () => {}, interval = POLL_MS }) {
  let id = null;
  let generation = 0; // bumped by follow() and stop(): a poll of an older one drops its answer
  let timer = null;

  function update(doc) {
    show(doc);
    if (doc.state === "running") timer = setTimeout(poll, interval);
    else ended(doc);
  }

  async function poll() {
    timer = null;
    const mine = generation;
    let doc;
    try {
      doc = await load(id);
    } catch (e) {
      if (mine !== generation) return;
      failed(e);
      timer = setTimeout(poll, interval * 3); // a hiccup: keep trying, slower
      return;
    }
    if (mine === generation) update(doc);
  }

  function stop() {
    clearTimeout(timer);
    timer = null;
    id = null;
    generation += 1;
  }

  return {
    get id() {
      return id;
    },
    follow(doc) {
      stop();
      id = doc.id;
      update(doc);
    },
    stop,
  };
}

// Refreshing a view every `interval` ms (the operator dashboard): `run()` now, then again
// `interval` after each one ends (a slow gateway is never asked twice at once), until stop().
// A run's errors are its own to show; the refresh goes on.
export function repeat({ run, interval }) {
  let timer = null;
  let generation = 0;

  async function tick(mine) {
    timer = null;
    try {
      await run();
    } catch {
      // shown by run itself
    }
    if (mine === generation) timer = setTimeout(() => tick(mine), interval);
  }

  return {
    start() {
      this.stop();
      tick(generation);
    },
    stop() {
      clearTimeout(timer);
      timer = null;
      generation += 1;
    },
  };
}
