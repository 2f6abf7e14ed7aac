// The WebSocket to the sandbox: JSON in both directions, reconnecting with a growing delay when the
// connection drops (the server sends a fresh snapshot on every connection).

/** Longest wait between two reconnection attempts. */
const MAX_BACKOFF_MS = 8000;

export class Socket {
  constructor(path, { onMessage, onStatus }) {
    this.url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.backoff = 500;
    this.ws = null;
    this.closed = false;
    this.connect();
  }

  connect() {
    this.onStatus("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.backoff = 500;
      this.onStatus("live");
    });
    ws.addEventListener("message", (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      this.onMessage(msg);
    });
    ws.addEventListener("close", (e) => {
      if (this.ws !== ws || this.closed) return;
      // 1008/4404-style closes mean the sandbox is gone: reconnecting cannot help.
      if (e.code === 1008 || e.code >= 4000) {
        this.onStatus("gone");
        return;
      }
      this.onStatus("lost");
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    });
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }
}
