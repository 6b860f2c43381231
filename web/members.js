// A project's members and roles: list, invite by email with a role, change a role, remove
// a member, leave. What the API refuses a role is not offered: only owners invite, change
// roles and remove others; every member may leave (the last owner is refused by the API).

import { api, currentUser, plainMessage } from "./api.js";
import { confirmDanger, field, h, notify } from "./ui.js";

const ROLES = ["viewer", "editor", "owner"];
const ROLE_WORDS = {
  owner: "owner: everything, including members, settings and deleting the project",
  editor: "editor: upload, segment, edit polygons and export",
  viewer: "viewer: look at images, polygons and measurements",
};

// Opens the members dialog for `project` (as the API returned it, with the caller's role).
export function membersDialog(project, { onLeft }) {
  const owner = project.role === "owner";
  const me = currentUser();
  const body = h("tbody");
  const error = h("p", { class: "form-error", role: "alert" });
  const box = h("dialog", { class: "modal members", "aria-labelledby": "members-title" });
  const close = () => {
    box.close();
    box.remove();
  };

  async function run(action, done) {
    error.textContent = "";
    try {
      await action();
      if (done) notify(done);
      await refresh();
    } catch (problem) {
      error.textContent = problem.code === "already_exists" ? "That person is already a member of this project." : plainMessage(problem);
    }
  }

  function row(member) {
    const self = me && member.user_id === me.id;
    const who = `${member.display_name || member.email || "deleted account"}${self ? " (you)" : ""}`;
    const role = owner
      ? h(
          "select",
          { "aria-label": `Role of ${member.email || member.user_id}`, onchange: (e) => run(() => api.changeRole(project.id, member.user_id, e.target.value), `Role changed to ${e.target.value}.`) },
          ROLES.map((r) => h("option", { value: r, selected: r === member.role }, r)),
        )
      : member.role;
    let action = null;
    if (self) action = h("button", { type: "button", class: "danger", onclick: () => leave() }, "Leave project");
    else if (owner) {
      action = h(
        "button",
        { type: "button", class: "danger", "aria-label": `Remove ${member.email || member.user_id}`, onclick: () => run(() => api.removeMember(project.id, member.user_id), "Member removed.") },
        "Remove",
      );
    }
    return h("tr", { dataset: { user: member.user_id } }, h("td", {}, who), h("td", {}, member.email || ""), h("td", {}, role), h("td", {}, action));
  }

  async function refresh() {
    const members = await api.members(project.id);
    body.replaceChildren(...members.map(row));
  }

  async function leave() {
    const sure = await confirmDanger("Leave this project?", `You will lose access to “${project.name}” until an owner invites you again.`, "Leave");
    if (!sure) return;
    try {
      await api.removeMember(project.id, me.id);
      close();
      notify(`You left “${project.name}”.`);
      onLeft();
    } catch (problem) {
      error.textContent = plainMessage(problem);
    }
  }

  let invite = null;
  if (owner) {
    const email = h("input", { type: "email", name: "email", required: true, autocomplete: "off" });
    const role = h("select", { name: "role", "aria-label": "Role of the new member" }, ROLES.map((r) => h("option", { value: r, selected: r === "editor" }, r)));
    invite = h("form", { class: "invite", "aria-label": "Invite a member" }, h("h3", {}, "Invite"), field("Email", email), field("Role", role), h("button", { type: "submit", class: "primary" }, "Invite"));
    invite.addEventListener("submit", (event) => {
      event.preventDefault();
      run(async () => {
        await api.addMember(project.id, email.value.trim(), role.value);
        email.value = "";
      }, `Invited as ${role.value}.`);
    });
  }

  box.append(
    h("h2", { id: "members-title" }, `Members of ${project.name}`),
    h("p", { class: "muted" }, `Your role: ${ROLE_WORDS[project.role] || project.role}.`),
    h("table", { class: "members-table" }, h("thead", {}, h("tr", {}, ["Member", "Email", "Role", ""].map((t) => h("th", { scope: "col" }, t)))), body),
    invite,
    owner ? h("p", { class: "muted" }, "People are invited by the email of their existing account.") : null,
    error,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: close }, "Close")),
  );
  box.addEventListener("cancel", (event) => {
    event.preventDefault();
    close();
  });
  document.body.append(box);
  box.showModal();
  refresh().catch((problem) => (error.textContent = plainMessage(problem)));
}
