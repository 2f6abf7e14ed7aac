// Entry point for page scripts, loaded as a module on every page (no inline scripts: the CSP forbids them).
// Pages opt in to behaviour through data attributes, so this file stays safe to load everywhere.

// Mark the navigation link for the current page, for styling and for screen readers.
for (const link of document.querySelectorAll(".site-nav a")) {
  if (link.getAttribute("href") === window.location.pathname) {
    link.setAttribute("aria-current", "page");
  }
}
