// Every keyboard shortcut of the editor in one list: the canvas's key handler and the help
// panel (`?`) both read it, so the panel always lists exactly what the keys do.

const PAN_STEP_PX = 60;

const zoom = (editor, factor) => {
  const { width, height } = editor.view.canvas;
  editor.view.zoomAt(factor, width / 2, height / 2);
};
const remove = (editor) => (editor.state.selectedVertex ? editor.deleteVertex() : editor.deletePolygon());

// [keys as shown, what they do, the KeyboardEvent.key values, action(editor) or null when
// the screen handles the key itself, needs Ctrl/⌘, needs Shift (undefined: either)]
export const SHORTCUTS = [
  ["Arrow keys", "Pan the view", ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"], (e, key) => {
    const steps = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[key];
    e.view.pan(steps[0] * PAN_STEP_PX, steps[1] * PAN_STEP_PX);
  }],
  ["Space + drag", "Pan the view with the mouse", [" "], (e) => (e.spaceHeld = true)],
  ["+ / =", "Zoom in", ["+", "="], (e) => zoom(e, 1.25)],
  ["-", "Zoom out", ["-"], (e) => zoom(e, 0.8)],
  ["0", "Fit the image", ["0"], (e) => e.view.fit()],
  ["V", "Select and edit", ["v", "V"], (e) => e.setMode("select")],
  ["N", "Draw a new polygon", ["n", "N"], (e) => e.setMode("draw")],
  ["H", "Draw a hole in the selected polygon", ["h", "H"], (e) => e.setMode("hole")],
  ["L", "Split the selected polygon with a line", ["l", "L"], (e) => e.setMode("split")],
  ["Enter", "Close the polygon or hole being drawn (double-click does too)", ["Enter"], (e) => (e.mode === "draw" || e.mode === "hole") && e.finishDrawing()],
  ["Escape", "Cancel drawing, or clear the selection", ["Escape"], (e) => (e.mode !== "select" ? e.setMode("select") : e.select(-1))],
  ["Delete / Backspace", "Delete the selected vertex, or else the selected polygon", ["Delete", "Backspace"], remove],
  ["Ctrl+Z", "Undo", ["z", "Z"], (e) => e.undo(), true, false],
  ["Ctrl+Shift+Z / Ctrl+Y", "Redo", ["z", "Z", "y", "Y"], (e) => e.redo(), true, true],
  ["Ctrl+S", "Save", ["s", "S"], null, true],
  ["Page Up / Page Down", "Previous / next image", ["PageUp", "PageDown"], null],
  ["?", "Show or hide this list", ["?"], null],
];

// Run the canvas's shortcut for `event`; true when it was one.
export function handleEditorKey(editor, event) {
  const ctrl = event.ctrlKey || event.metaKey;
  for (const [, , keys, action, needsCtrl = false, needsShift] of SHORTCUTS) {
    if (!action || !keys.includes(event.key) || ctrl !== needsCtrl) continue;
    if (needsShift !== undefined && event.shiftKey !== needsShift && !(event.key.toLowerCase() === "y")) continue;
    action(editor, event.key);
    event.preventDefault();
    editor.redraw();
    return true;
  }
  return false;
}
