// The client's entry point: hash routes to screens, the account bar and sign-out.

import { currentUser, logout, onSessionChange, signedIn } from "./api.js";
import { showAccount } from "./account-view.js";
import { showLogin, showReset, showSignup, showVerify } from "./auth-view.js";
import { showProjects } from "./projects-view.js";
import { showProject } from "./project-view.js";
import { showEditor } from "./editor-view.js";
import { h } from "./ui.js";

const main = document.getElementById("main");
let leaveScreen = null;

const ROUTES = [
  [/^#\/login$/, () => showLogin(main), false],
  [/^#\/signup$/, () => showSignup(main), false],
  [/^#\/verify\?token=(.+)$/, (m) => showVerify(main, decodeURIComponent(m[1])), false],
  [/^#\/reset(?:\?token=(.+))?$/, (m) => showReset(main, m[1] && decodeURIComponent(m[1])), false],
  [/^#\/account$/, () => showAccount(main), true],
  [/^#\/projects$/, () => showProjects(main), true],
  [/^#\/projects\/([^/]+)$/, (m) => showProject(main, m[1]), true],
  [/^#\/projects\/([^/]+)\/images\/([^/]+)$/, (m) => showEditor(main, m[1], m[2]), true],
];

let shownHash = null;

function route() {
  if (location.hash === shownHash) return; // put back after a cancelled leave
  if (leaveScreen && leaveScreen.unsaved && leaveScreen.unsaved()) {
    if (!confirm("You have unsaved changes. Leave this page and discard them?")) {
      location.hash = shownHash;
      return;
    }
  }
  if (leaveScreen) leaveScreen();
  leaveScreen = null;
  shownHash = location.hash;
  const hash = location.hash || "#/projects";
  for (const [pattern, show, needsSession] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    if (needsSession && !signedIn()) {
      sessionStorage.setItem("after-login", hash);
      location.hash = "#/login";
      return;
    }
    main.replaceChildren();
    leaveScreen = show(match) || null;
    main.focus({ preventScroll: true });
    return;
  }
  location.hash = signedIn() ? "#/projects" : "#/login";
}

function renderAccount(user) {
  const nav = document.getElementById("account");
  if (!user) {
    nav.replaceChildren(h("a", { href: "#/login" }, "Sign in"), h("a", { href: "#/signup" }, "Create account"));
    return;
  }
  nav.replaceChildren(
    h("a", { class: "who", href: "#/account", title: "Your account" }, user.display_name || user.email, user.email_verified ? "" : " (email not verified)"),
    h("button", { type: "button", id: "logout", onclick: async () => { await logout(); location.hash = "#/login"; } }, "Sign out"),
  );
}

onSessionChange((user) => {
  renderAccount(user);
  if (!user && !/^#\/(login|signup|verify|reset)/.test(location.hash)) location.hash = "#/login";
});

window.addEventListener("hashchange", route);
renderAccount(currentUser());
route();
