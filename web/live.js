// Live status over /ws: subscribe to one project, reconnect with backoff, ask for a re-sync.
//
// Events are hints; the REST API is the truth. After every (re)connect and on a server
// "resync" message the screen re-reads its state through `onResync`.

import { accessToken, refreshSession } from "./api.js";
import { hubConfig } from "./config.js";

const MAX_DELAY_MS = 15000;
const CLOSE_INVALID_TOKEN = 4401;

export function followProject(projectId, { onEvent, onResync, onState = () => {} }) {
  let socket = null;
  let delay = 500;
  let stopped = false;
  let timer = null;
  let connectedOnce = false;

  async function connect() {
    if (stopped) return;
    onState("connecting");
    let token;
    try {
      token = await accessToken();
    } catch {
      onState("offline");
      return; // signed out
    }
    const { websocketUrl } = await hubConfig();
    if (stopped) return;
    // The token goes in the query string: API Gateway's $connect sees nothing else, and the
    // embedded hub's /ws accepts it there too.
    socket = new WebSocket(`${websocketUrl}?token=${encodeURIComponent(token)}`);
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ action: "subscribe", project_id: projectId }));
    });
    socket.addEventListener("message", (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (data.type === "subscribed") {
        delay = 500;
        onState("live");
        // Anything that happened while we were away is only in the REST API.
        if (connectedOnce) onResync();
        connectedOnce = true;
      } else if (data.type === "resync") onResync();
      else if (data.type !== "unsubscribed" && data.type !== "error") onEvent(data);
    });
    socket.addEventListener("close", async (event) => {
      socket = null;
      if (stopped) return;
      onState("reconnecting");
      if (event.code === CLOSE_INVALID_TOKEN) await refreshSession().catch(() => {});
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    });
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (socket) socket.close();
  };
}
