// The order in which the editor's previous/next buttons step through a project's images:
// the gallery's (by name, and only the shown ones while a status filter is on). Opened
// straight from a link, the editor reads the list itself.

import { api } from "./api.js";

const orders = new Map(); // project id -> () => image ids in gallery order

export function rememberOrder(projectId, ids) {
  orders.set(projectId, ids);
}

async function allIds(projectId) {
  const ids = [];
  let cursor = null;
  do {
    const page = await api.images(projectId, { cursor });
    ids.push(...page.items.map((image) => image.id));
    cursor = page.next_cursor;
  } while (cursor);
  return ids;
}

// {previous, next, position (1-based), total} around `imageId`.
export async function neighbours(projectId, imageId) {
  let ids = orders.has(projectId) ? orders.get(projectId)() : [];
  if (!ids.includes(imageId)) {
    const loaded = await allIds(projectId);
    orders.set(projectId, () => loaded);
    ids = loaded;
  }
  const index = ids.indexOf(imageId);
  return { previous: ids[index - 1] || null, next: ids[index + 1] || null, position: index + 1, total: ids.length };
}
