// The account screen: profile (email, name, verified state), change password, delete the
// account after typing its email address.

import { changePassword, currentUser, deleteAccount, plainMessage, reloadUser } from "./api.js";
import { field, h, notify } from "./ui.js";

function section(title, ...children) {
  return h("section", { class: "card", "aria-label": title }, h("h2", {}, title), ...children);
}

function profile(user) {
  const verified = user.email_verified
    ? h("p", { id: "verified-state" }, "Your email address is verified.")
    : h(
        "p",
        { id: "verified-state" },
        "Your email address is not verified yet. Open the link in the mail sent when you signed up. ",
        "The hub cannot send that mail again; if it is lost, ask the hub's administrator.",
      );
  return section(
    "Profile",
    h("dl", {}, h("dt", {}, "Email"), h("dd", { id: "profile-email" }, user.email), h("dt", {}, "Name"), h("dd", {}, user.display_name || "—"), h("dt", {}, "Member since"), h("dd", {}, new Date(user.created_at).toLocaleDateString())),
    verified,
  );
}

function passwordForm() {
  const current = h("input", { name: "old", type: "password", required: true, autocomplete: "current-password" });
  const fresh = h("input", { name: "new", type: "password", required: true, autocomplete: "new-password" });
  const again = h("input", { name: "again", type: "password", required: true, autocomplete: "new-password" });
  const error = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, "Change password");
  const form = h("form", {}, field("Current password", current), field("New password", fresh), field("New password again", again), error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (fresh.value !== again.value) {
      error.textContent = "The two new passwords differ.";
      return;
    }
    submit.disabled = true;
    try {
      await changePassword(current.value, fresh.value);
      form.reset();
      notify("Password changed. You stay signed in here; other devices must sign in again.");
    } catch (problem) {
      error.textContent = problem.code === "invalid_credentials" ? "The current password is wrong." : plainMessage(problem);
    } finally {
      submit.disabled = false;
    }
  });
  return section("Change password", form);
}

function deleteForm(user) {
  const typed = h("input", { name: "confirm", autocomplete: "off", spellcheck: "false" });
  const error = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "danger primary", disabled: true }, "Delete my account");
  typed.addEventListener("input", () => (submit.disabled = typed.value.trim().toLowerCase() !== user.email.toLowerCase()));
  const form = h(
    "form",
    {},
    h("p", {}, "Your account is deleted at once. Projects of which you are the only owner are deleted with all their images; you leave the others. This cannot be undone."),
    field(`Type your email address (${user.email}) to confirm`, typed),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    submit.disabled = true;
    try {
      await deleteAccount();
      location.hash = "#/login";
      notify("Your account was deleted.");
    } catch (problem) {
      error.textContent = plainMessage(problem);
      submit.disabled = false;
    }
  });
  const box = section("Delete account", form);
  box.classList.add("danger-zone");
  return box;
}

export function showAccount(main) {
  const page = h("div", { class: "account" }, h("h1", {}, "Account"));
  main.append(page);
  const render = (user) => page.append(profile(user), passwordForm(), deleteForm(user));
  // Re-read the account: the address may have been verified in another tab.
  reloadUser().then(render, (error) => {
    notify(plainMessage(error), "error");
    if (currentUser()) render(currentUser());
  });
}
