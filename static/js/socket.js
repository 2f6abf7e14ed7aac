// The WebSocket to the sandbox: JSON in both directions, reconnecting with a growing delay when the
// connection drops (the server sends a fresh snapshot on every connection).
import { toast } from "./dom.js";

/** Longest wait between two reconnection attempts. */
const MAX_BACKOFF_MS = 8000;
/** Failed attempts in a row after which the sandbox is taken as gone (reaped, or the server restarted). */
const MAX_FAILED_ATTEMPTS = 5;
/** The largest message the server reads (`web::ws::MAX_CLIENT_MESSAGE_BYTES`); past it, it closes with 1009. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** How deep a published payload may nest arrays and objects (`sandbox::protocol::MAX_JSON_DEPTH` less the
 * three levels around a payload). */
export const MAX_PAYLOAD_DEPTH = 125;

export class Socket {
  constructor(path, { onMessage, onStatus }) {
    this.url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.backoff = 500;
    this.failed = 0;
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
      this.failed = 0;
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
      // 1009: the server closed on a message over its limit; say so, then reconnect as usual.
      if (e.code === 1009) toast(`The last message was over ${MAX_MESSAGE_BYTES / 1024} KiB, more than the sandbox takes; it was not applied. Reconnecting…`, "error");
      // A policy close (1008) or an application code means reconnecting cannot help; nor does a
      // sandbox that keeps refusing the connection.
      this.failed += 1;
      if (e.code === 1008 || e.code >= 4000 || this.failed >= MAX_FAILED_ATTEMPTS) {
        this.onStatus("gone", e.code);
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
