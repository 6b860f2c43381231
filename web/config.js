// Where the APIs are. The embedded hub serves them on the page's own origin; the cloud's web
// bucket carries a config.json (written by the CDK app) naming the HTTP API and the
// WebSocket API, which live on other origins. Read once, on first use.

let loaded = null;

function sameOrigin() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return { apiUrl: "", websocketUrl: `${scheme}//${location.host}/ws` };
}

export function hubConfig() {
  if (!loaded) {
    loaded = fetch("config.json", { cache: "no-store" })
      .then((response) => (response.ok ? response.json() : {}))
      .catch(() => ({}))
      .then((found) => {
        const defaults = sameOrigin();
        const apiUrl = typeof found.apiUrl === "string" ? found.apiUrl.replace(/\/+$/, "") : "";
        const websocketUrl =
          typeof found.websocketUrl === "string" && found.websocketUrl
            ? found.websocketUrl
            : defaults.websocketUrl;
        return { apiUrl, websocketUrl };
      });
  }
  return loaded;
}
