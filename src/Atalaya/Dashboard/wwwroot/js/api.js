// The metrics API as the dashboards see it: every call carries the token from sessionStorage in
// the Authorization header (never in a URL) and fails with an ApiError holding the status.
const KEY = 'atalaya.token';

export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  set(token) { sessionStorage.setItem(KEY, token); },
  clear() { sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value !== undefined && value !== null && value !== '') search.set(key, value);
  }
  const text = search.toString();
  return text ? '?' + text : '';
}

export async function api(path, params, { signal, token } = {}) {
  let response;
  try {
    response = await fetch(path + query(params), {
      headers: { Authorization: 'Bearer ' + (token ?? session.token), Accept: 'application/json' },
      cache: 'no-store',
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'The hub cannot be reached.');
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      message = body.error ?? body.message ?? message;
    } catch {
      // Not JSON: keep the status line.
    }
    throw new ApiError(response.status, message);
  }
  return response.json();
}
