// Side-panel controls of the editor: the object class of the selected polygon (from the
// project's classes) and the channel shown for multi-channel images.

import { h } from "./ui.js";

// A <select> of the project's classes; it shows and sets the selected polygon's class, or
// the class of the next polygons drawn when none is selected.
export function classControl(editor) {
  const select = h("select", { id: "polygon-class", onchange: () => editor.setClass(select.value) });
  const hint = h("small", {}, "");
  let classes = ["object"];
  const element = h("label", { class: "field" }, h("span", {}, "Class"), select, hint);
  function render() {
    const polygon = editor.state.polygons[editor.state.selected];
    const current = polygon ? polygon.class : editor.className;
    const names = classes.includes(current) ? classes : [...classes, current];
    if (select.options.length !== names.length || [...select.options].some((o, i) => o.value !== names[i])) {
      select.replaceChildren(...names.map((name) => h("option", { value: name }, name)));
    }
    select.value = current;
    select.disabled = Boolean(editor.readOnly);
    hint.textContent = polygon ? "Class of the selected polygon." : "Class given to the polygons you draw next.";
  }
  return {
    element,
    render,
    setClasses(list) {
      classes = list.length ? list : ["object"];
      render();
    },
  };
}

const CHANNEL_NAMES = ["red", "green", "blue"];

// "All channels" or one channel of an RGB(A) original, shown in grey.
export function channelControl(onPick) {
  const select = h("select", { id: "channel" });
  const note = h("small", {}, "");
  const element = h("label", { class: "field" }, h("span", {}, "Channel"), select, note);
  const cache = new Map();
  let source = null;

  function extract(index) {
    if (cache.has(index)) return cache.get(index);
    const canvas = document.createElement("canvas");
    canvas.width = source.naturalWidth;
    canvas.height = source.naturalHeight;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(source, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height); // throws if cross-origin
    const data = pixels.data;
    for (let i = 0; i < data.length; i += 4) {
      const value = data[i + index];
      data[i] = value;
      data[i + 1] = value;
      data[i + 2] = value;
      data[i + 3] = 255;
    }
    context.putImageData(pixels, 0, 0);
    cache.set(index, canvas);
    return canvas;
  }

  select.addEventListener("change", () => {
    const index = Number(select.value);
    if (index < 0) return onPick(source);
    try {
      onPick(extract(index));
    } catch {
      note.textContent = "This image's pixels cannot be read by the page, so one channel cannot be picked out.";
      select.value = "-1";
    }
  });

  // `image` is the API's detail, `shown` the decoded <img> (null when none could be shown).
  function setup(image, shown) {
    source = shown;
    cache.clear();
    const channels = image.channels || 1;
    const options = [h("option", { value: "-1" }, channels > 1 ? "All channels (colour)" : "The only channel")];
    select.disabled = true;
    if (image.content_type === "image/tiff") {
      note.textContent = `${channels} channel(s). Browsers cannot decode TIFF, so its thumbnail is shown and single channels cannot be picked out here.`;
    } else if (!shown) {
      note.textContent = "The image could not be displayed.";
    } else if (channels >= 3) {
      CHANNEL_NAMES.forEach((name, i) => options.push(h("option", { value: String(i) }, `Channel ${i + 1} (${name})`)));
      select.disabled = false;
      note.textContent = "One channel is shown in grey; brightness and contrast apply to it.";
    } else {
      note.textContent = channels === 2 ? "Two-channel image, shown as stored." : "Single-channel image.";
    }
    select.replaceChildren(...options);
    select.value = "-1";
  }
  return { element, setup };
}
