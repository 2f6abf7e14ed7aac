// A view that is only needed once the learner asks for it (a message's journey, a flow's sequence, the
// event catalog, a dialog, a proof's report) loads on first use, with the stylesheet those views share:
// the page's first render fetches and parses less.

/** `load()` resolves to the view; `lazy(load).use(fn)` calls `fn(view)` once it and its styles are there,
 * loading them the first time. `.now` is the view if it has loaded, else null: the redraws that only
 * concern a view already shown use it and skip the rest. */
export function lazy(load) {
  let view = null;
  let loading = null;
  return {
    get now() {
      return view;
    },
    use(fn) {
      if (view) return Promise.resolve(fn(view));
      loading ??= Promise.all([load(), viewStyles()]).then(([v]) => (view = v));
      return loading.then(fn);
    },
  };
}

let styles = null;

/** Adds `css/views.css` to the page once; resolves when it applies (or failed: a view unstyled beats
 * a view never shown). */
function viewStyles() {
  styles ??= new Promise((resolve) => {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = new URL("../css/views.css", import.meta.url).href;
    link.addEventListener("load", resolve);
    link.addEventListener("error", resolve);
    document.head.append(link);
  });
  return styles;
}
