// The join page: a learner picks a name and gets a token, kept in this browser so a refresh or a new tab
// brings them back to their own sandbox. Loaded only on /join/{code}.
const root = document.getElementById("join");
const code = root?.dataset.code;
if (code) start(code);

function key(code) {
  return `eda-session-${code}`;
}

async function start(code) {
  const form = document.getElementById("join-form");
  const status = document.getElementById("join-status");
  const show = (text) => {
    status.textContent = text;
    status.hidden = !text;
  };
  const saved = localStorage.getItem(key(code));
  if (saved) {
    // Present the token once: the answer says who we are and renews the cookie the sandbox page uses.
    const res = await fetch(`/api/sessions/${code}/me`, {
      method: "POST",
      headers: { Authorization: `Bearer ${saved}` },
    });
    if (res.ok) {
      const me = await res.json();
      form.hidden = true;
      document.getElementById("rejoin-name").textContent = me.name;
      document.getElementById("rejoin").hidden = false;
      return;
    }
    localStorage.removeItem(key(code));
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = document.getElementById("name").value.trim();
    if (!name) return;
    show("Joining…");
    const res = await fetch(`/api/sessions/${code}/learners`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      show(body.error || "Could not join; try again.");
      return;
    }
    localStorage.setItem(key(code), body.token);
    location.assign(body.play_url);
  });
}
