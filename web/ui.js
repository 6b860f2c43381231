// Small DOM helpers shared by the screens: element building, notices and dialogs.

// h("button", {class: "primary", onclick}, "Save") -> <button class="primary">Save</button>
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key in element && typeof value !== "string") element[key] = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

// A labelled form field: <label>Text <input ...></label>.
export function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", {}, label), input, hint ? h("small", {}, hint) : null);
}

let noticeTimer = null;

// A message in the page's live region; errors stay until dismissed or replaced.
export function notify(message, kind = "info") {
  const region = document.getElementById("notice");
  region.className = `notice ${kind}`;
  region.replaceChildren(
    h("span", {}, message),
    h("button", { type: "button", class: "link", "aria-label": "Dismiss", onclick: () => region.replaceChildren() }, "×"),
  );
  clearTimeout(noticeTimer);
  if (kind !== "error") noticeTimer = setTimeout(() => region.replaceChildren(), 5000);
}

// A modal <dialog>; resolves with the value of the button pressed (Escape -> "cancel").
export function dialog(title, body, buttons) {
  return new Promise((resolve) => {
    const box = h("dialog", { class: "modal", "aria-labelledby": "dialog-title" });
    const close = (value) => {
      box.close();
      box.remove();
      resolve(value);
    };
    box.append(
      h("h2", { id: "dialog-title" }, title),
      h("div", { class: "dialog-body" }, body),
      h(
        "div",
        { class: "actions" },
        buttons.map(([label, value, kind]) =>
          h("button", { type: "button", class: kind || "", dataset: { value }, onclick: () => close(value) }, label),
        ),
      ),
    );
    box.addEventListener("cancel", (event) => {
      event.preventDefault();
      close("cancel");
    });
    document.body.append(box);
    box.showModal();
  });
}

export async function confirmDanger(title, message, action = "Delete") {
  const answer = await dialog(title, h("p", {}, message), [
    ["Cancel", "cancel"],
    [action, "ok", "danger"],
  ]);
  return answer === "ok";
}

// A dialog holding a form; resolves with its FormData, or null when cancelled.
export function formDialog(title, fields, submitLabel = "Save") {
  return new Promise((resolve) => {
    const form = h("form", { method: "dialog" }, fields);
    const box = h("dialog", { class: "modal", "aria-label": title });
    const finish = (value) => {
      box.close();
      box.remove();
      resolve(value);
    };
    form.append(
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", onclick: () => finish(null) }, "Cancel"),
        h("button", { type: "submit", class: "primary" }, submitLabel),
      ),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      finish(new FormData(form));
    });
    box.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(null);
    });
    box.append(h("h2", {}, title), form);
    document.body.append(box);
    box.showModal();
  });
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
