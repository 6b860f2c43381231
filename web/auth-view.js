// Sign-in, sign-up, email verification and password reset screens.

import { confirmPasswordReset, login, plainMessage, register, requestPasswordReset, verifyEmail } from "./api.js";
import { field, h, notify } from "./ui.js";

function afterLogin() {
  const target = sessionStorage.getItem("after-login");
  sessionStorage.removeItem("after-login");
  location.hash = target || "#/projects";
}

function authForm(title, inputs, submitLabel, onSubmit, footer) {
  const error = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, submitLabel);
  const form = h("form", { class: "card narrow", "aria-label": title }, h("h1", {}, title), inputs, error, submit, footer);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      await onSubmit(new FormData(form));
    } catch (problem) {
      error.textContent = plainMessage(problem);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

const emailInput = () => h("input", { name: "email", type: "email", required: true, autocomplete: "email" });

export function showLogin(main) {
  main.append(
    authForm(
      "Sign in",
      [
        field("Email", emailInput()),
        field("Password", h("input", { name: "password", type: "password", required: true, autocomplete: "current-password" })),
      ],
      "Sign in",
      async (data) => {
        await login(data.get("email"), data.get("password"));
        afterLogin();
      },
      h("p", {}, "No account yet? ", h("a", { href: "#/signup" }, "Create one"), " · ", h("a", { href: "#/reset" }, "Forgot password?")),
    ),
  );
}

export function showSignup(main) {
  main.append(
    authForm(
      "Create an account",
      [
        field("Name (optional)", h("input", { name: "display_name", autocomplete: "name", maxlength: "100" })),
        field("Email", emailInput()),
        field(
          "Password",
          h("input", { name: "password", type: "password", required: true, autocomplete: "new-password", minlength: "10" }),
          "At least 10 characters.",
        ),
      ],
      "Create account",
      async (data) => {
        await register(data.get("email"), data.get("password"), data.get("display_name") || "");
        notify("Account created. We sent a verification link to your email address.");
        afterLogin();
      },
      h("p", {}, "Already have an account? ", h("a", { href: "#/login" }, "Sign in")),
    ),
  );
}

export function showVerify(main, token) {
  const status = h("p", { role: "status" }, "Verifying your email address…");
  main.append(h("section", { class: "card narrow" }, h("h1", {}, "Email verification"), status, h("a", { href: "#/projects" }, "Continue")));
  verifyEmail(token).then(
    () => (status.textContent = "Your email address is verified. Thank you."),
    (error) => (status.textContent = `This link did not work: ${plainMessage(error)} Links work once and expire.`),
  );
}

export function showReset(main, token) {
  if (!token) {
    main.append(
      authForm("Reset your password", [field("Email", emailInput())], "Send reset link", async (data) => {
        await requestPasswordReset(data.get("email"));
        notify("If that address has an account, a reset link is on its way.");
        location.hash = "#/login";
      }),
    );
    return;
  }
  main.append(
    authForm(
      "Choose a new password",
      [field("New password", h("input", { name: "password", type: "password", required: true, autocomplete: "new-password" }))],
      "Set password",
      async (data) => {
        await confirmPasswordReset(token, data.get("password"));
        notify("Your password was changed. Please sign in.");
        location.hash = "#/login";
      },
    ),
  );
}
