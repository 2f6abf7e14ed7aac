// A view that is only needed once the learner asks for it (a message's journey, a flow's sequence, the
// success dialog) loads on first use: the page's first render fetches and parses less.

/** `load()` resolves to the view; `lazy(load).use(fn)` calls `fn(view)` once it is there, loading it
 * the first time. `.now` is the view if it has loaded, else null: the redraws that only concern a view
 * already shown use it and skip the rest. */
export function lazy(load) {
  let view = null;
  let loading = null;
  return {
    get now() {
      return view;
    },
    use(fn) {
      if (view) return Promise.resolve(fn(view));
      loading ??= load().then((v) => (view = v));
      return loading.then(fn);
    },
  };
}
