// Live figures: the /api/kpi/events stream read with fetch(), because EventSource cannot send the
// Authorization header and the token must never travel in a URL. When the stream cannot be opened
// or stops, the feed polls /api/kpi/summary every 10 s and keeps trying the stream every 30 s.
// State: 'live' (stream open, a summary within the last 25 s), 'polling' (the fallback answers),
// 'stale' (neither has answered for a while). The server sends a summary at least every 10 s.
import { api, session, ApiError, query } from './api.js';

const POLL_MS = 10_000;
const RETRY_STREAM_MS = 30_000;
const LIVE_SILENCE_MS = 25_000;
const POLL_SILENCE_MS = 25_000;

export class LiveFeed {
  constructor(params, { onSummary, onState, onUnauthorized }) {
    this.params = params;
    this.onSummary = onSummary;
    this.onState = onState;
    this.onUnauthorized = onUnauthorized;
    this.state = null;
    this.lastUpdate = 0;
    this.stopped = false;
    this.streaming = false;
  }

  start() {
    this.startedAt = Date.now();
    this.openStream();
    this.watchdog = setInterval(() => this.check(), 2000);
  }

  stop() {
    this.stopped = true;
    this.stream?.abort();
    clearInterval(this.watchdog);
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }

  deliver(summary) {
    this.lastUpdate = Date.now();
    this.onSummary(summary);
  }

  async openStream() {
    if (this.stopped || this.streaming) return;
    const controller = new AbortController();
    this.stream = controller;
    this.streaming = true;
    try {
      const response = await fetch('/api/kpi/events' + query(this.params), {
        headers: { Authorization: 'Bearer ' + session.token, Accept: 'text/event-stream' },
        cache: 'no-store',
        signal: controller.signal,
      });
      if (response.status === 401) {
        this.stop();
        this.onUnauthorized();
        return;
      }
      if (!response.ok || !response.body) throw new Error('event stream answered ' + response.status);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replaceAll('\r\n', '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.handle(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      throw new Error('event stream ended');
    } catch {
      this.streaming = false;
      if (!this.stopped) this.fallBack();
    }
  }

  handle(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (event !== 'summary' || data.length === 0) return;
    let summary;
    try {
      summary = JSON.parse(data.join('\n'));
    } catch {
      return;
    }
    clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.setState('live');
    this.deliver(summary);
  }

  fallBack() {
    if (!this.pollTimer) {
      this.poll();
      this.pollTimer = setInterval(() => this.poll(), POLL_MS);
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.openStream(), RETRY_STREAM_MS);
  }

  async poll() {
    try {
      const summary = await api('/api/kpi/summary', this.params);
      if (this.stopped) return;
      this.setState('polling');
      this.deliver(summary);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        this.stop();
        this.onUnauthorized();
        return;
      }
      this.setState('stale');
    }
  }

  check() {
    const silent = Date.now() - this.lastUpdate;
    if (this.state === null && Date.now() - this.startedAt > 5000) {
      // The stream neither opened nor failed: treat it as failed.
      this.stream?.abort();
    }
    if (this.state === 'live' && silent > LIVE_SILENCE_MS) {
      this.setState('stale');
      this.stream?.abort();
    } else if (this.state === 'polling' && silent > POLL_SILENCE_MS) {
      this.setState('stale');
    }
  }
}
