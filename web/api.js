// The hub's REST API: one place for tokens, refresh-on-401 and error bodies.
//
// The access token and the refresh token live in this module's memory only (never in
// localStorage or cookies): a script injected into the page cannot read them from storage,
// and closing or reloading the tab ends the session. The API rotates the refresh token on
// every use, so a stolen, already-used one revokes the whole session family.

import { hubConfig } from "./config.js";

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const PLAIN_WORDS = {
  invalid_credentials: "That email and password do not match an account.",
  rate_limited: "Too many attempts. Please wait a moment and try again.",
  version_conflict: "Someone else saved this segmentation after you opened it.",
  last_owner: "A project needs at least one owner: make another member an owner first.",
  network: "The hub cannot be reached. Check that it is running and try again.",
  internal: "The hub ran into an internal error. Please try again.",
};

// A sentence for a person: the server's message, or a known plain explanation.
export function plainMessage(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  if (PLAIN_WORDS[error.code]) return PLAIN_WORDS[error.code];
  const problems = error.details && error.details.problems;
  if (problems && problems.length) {
    const first = problems[0];
    const field = (first.location || []).filter((p) => p !== "body").join(" ");
    return `${field ? field + ": " : ""}${first.message}`;
  }
  return error.message || `The request failed (${error.status}).`;
}

const session = { access: null, refresh: null, expiresAt: 0, user: null };
let refreshing = null;
const listeners = new Set();

export function onSessionChange(listener) {
  listeners.add(listener);
}

function setTokens(pair) {
  session.access = pair ? pair.access_token : null;
  session.refresh = pair ? pair.refresh_token : null;
  session.expiresAt = pair ? Date.now() + pair.expires_in * 1000 : 0;
}

export function currentUser() {
  return session.user;
}

export function signedIn() {
  return Boolean(session.refresh);
}

// The access token, refreshed first when it is about to expire (for the WebSocket).
export async function accessToken() {
  if (session.access && Date.now() < session.expiresAt - 15000) return session.access;
  await refreshTokens();
  return session.access;
}

// Rotate the tokens now (the WebSocket was refused with an expired token).
export const refreshSession = () => refreshTokens();

async function refreshTokens() {
  if (!session.refresh) throw new ApiError(401, "invalid_token", "Please sign in.");
  // One refresh at a time: a rotated token may be used only once.
  refreshing ||= rawRequest("POST", "/auth/refresh", { refresh_token: session.refresh })
    .then((pair) => setTokens(pair))
    .catch((error) => {
      if (error.status === 401) endSession();
      throw error;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

function endSession() {
  setTokens(null);
  session.user = null;
  listeners.forEach((listener) => listener(null));
}

async function rawRequest(method, path, body, { token, headers = {}, signal } = {}) {
  const init = { method, headers: { ...headers }, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (token) init.headers.Authorization = `Bearer ${token}`;
  const { apiUrl } = await hubConfig();
  let response;
  try {
    response = await fetch(path.startsWith("/") ? apiUrl + path : path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", "network error");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(
      response.status,
      error.code || `http_${response.status}`,
      error.message || response.statusText,
      error.details || {},
    );
  }
  return data;
}

// An authenticated call; a 401 triggers one refresh and one retry.
export async function request(method, path, body, options = {}) {
  const token = await accessToken();
  try {
    return await rawRequest(method, path, body, { ...options, token });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    await refreshTokens();
    return rawRequest(method, path, body, { ...options, token: session.access });
  }
}

export async function login(email, password) {
  setTokens(await rawRequest("POST", "/auth/login", { email, password }));
  session.user = await request("GET", "/auth/me");
  listeners.forEach((listener) => listener(session.user));
  return session.user;
}

export async function register(email, password, displayName) {
  await rawRequest("POST", "/auth/register", { email, password, display_name: displayName });
  return login(email, password);
}

export async function logout() {
  const refresh = session.refresh;
  endSession();
  if (refresh) await rawRequest("POST", "/auth/logout", { refresh_token: refresh }).catch(() => {});
}

export const verifyEmail = (token) => rawRequest("POST", "/auth/verify-email", { token });
export const requestPasswordReset = (email) =>
  rawRequest("POST", "/auth/password-reset", { email });
export const confirmPasswordReset = (token, newPassword) =>
  rawRequest("POST", "/auth/password-reset/confirm", { token, new_password: newPassword });

const enc = encodeURIComponent;
const project = (id) => `/projects/${enc(id)}`;

export const api = {
  projects: (search, cursor) => {
    const query = new URLSearchParams({ limit: "100" });
    if (search) query.set("search", search);
    if (cursor) query.set("cursor", cursor);
    return request("GET", `/projects?${query}`);
  },
  project: (id) => request("GET", project(id)),
  createProject: (name, settings, sample = "nuclei") => request("POST", "/projects", { name, sample, settings }),
  updateProject: (id, changes) => request("PATCH", project(id), changes),
  deleteProject: (id) => request("DELETE", project(id)),
  models: () => request("GET", "/models"),
  images: (id, { cursor, limit = 1000, status } = {}) => {
    const query = new URLSearchParams({ limit: String(limit), order: "name" });
    if (cursor) query.set("cursor", cursor);
    for (const s of status || []) query.append("status", s);
    return request("GET", `${project(id)}/images?${query}`);
  },
  deleteImages: (id, imageIds) => request("POST", `${project(id)}/images/delete`, { image_ids: imageIds }),
  image: (id, imageId) => request("GET", `${project(id)}/images/${enc(imageId)}`),
  planUploads: (id, files) => request("POST", `${project(id)}/uploads`, { files }),
  completeUpload: (id, imageId, body) =>
    request("POST", `${project(id)}/uploads/${enc(imageId)}/complete`, body),
  segment: (id, body) => request("POST", `${project(id)}/segmentations`, body),
  activeJobs: (id) => request("GET", `${project(id)}/jobs`),
  segmentation: (id, imageId, pixelSize) => {
    const query = pixelSize ? `?pixel_size_um=${pixelSize}` : "";
    return request("GET", `${project(id)}/images/${enc(imageId)}/segmentation${query}`);
  },
  saveSegmentation: (id, imageId, body) =>
    request("PUT", `${project(id)}/images/${enc(imageId)}/segmentation`, body),
  createExport: (id, body) => request("POST", `${project(id)}/exports`, body),
  exportState: (id, exportId) => request("GET", `${project(id)}/exports/${enc(exportId)}`),
  cancelExport: (id, exportId) =>
    request("POST", `${project(id)}/exports/${enc(exportId)}/cancel`),
  exportDownload: (id, exportId) =>
    request("GET", `${project(id)}/exports/${enc(exportId)}/download`),
};

Object.assign(api, {
  segmentationVersions: (id, imageId) =>
    request("GET", `${project(id)}/images/${enc(imageId)}/segmentation/versions`),
  segmentationVersion: (id, imageId, version, pixelSize) => {
    const query = pixelSize ? `?pixel_size_um=${pixelSize}` : "";
    return request("GET", `${project(id)}/images/${enc(imageId)}/segmentation/versions/${version}${query}`);
  },
  revertSegmentation: (id, imageId, body) =>
    request("POST", `${project(id)}/images/${enc(imageId)}/segmentation/revert`, body),
  members: (id) => request("GET", `${project(id)}/members`),
  addMember: (id, email, role) => request("POST", `${project(id)}/members`, { email, role }),
  changeRole: (id, userId, role) => request("PATCH", `${project(id)}/members/${enc(userId)}`, { role }),
  removeMember: (id, userId) => request("DELETE", `${project(id)}/members/${enc(userId)}`),
  cancelJob: (id, jobId) => request("POST", `${project(id)}/jobs/${enc(jobId)}/cancel`),
  projectModels: (id) => request("GET", `${project(id)}/models`),
  finetune: (id, body) => request("POST", `${project(id)}/models/finetune`, body),
  planModelUpload: (id, body) => request("POST", `${project(id)}/models/uploads`, body),
  importModel: (id, body) => request("POST", `${project(id)}/models/import`, body),
  modelJobReport: (id, jobId) => request("GET", `${project(id)}/models/jobs/${enc(jobId)}/report`),
  deleteProjectModel: (id, name) => request("DELETE", `${project(id)}/models/${enc(name)}`),
});

// The account: re-read it, change the password (the API answers with a fresh token pair
// and revokes the other sessions), delete it (ends this session too).
export async function reloadUser() {
  session.user = await request("GET", "/auth/me");
  listeners.forEach((listener) => listener(session.user));
  return session.user;
}

export async function changePassword(oldPassword, newPassword) {
  setTokens(await request("POST", "/auth/change-password", { old_password: oldPassword, new_password: newPassword }));
}

export async function deleteAccount() {
  await request("DELETE", "/auth/me");
  endSession();
}
