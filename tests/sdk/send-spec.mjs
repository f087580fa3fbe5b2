// Sends the Segment e-commerce spec's own example payloads (spec-examples.json) through the real
// Segment Node SDK, one person, a minute apart from BASE_TIME, then a spec page call.
// Used by SegmentSpecTests: node send-spec.mjs HUB_URL WRITE_KEY PREFIX BASE_TIME
import { readFileSync } from 'node:fs';
import { Analytics } from '@segment/analytics-node';

const [, , hub, writeKey, prefix, baseTime] = process.argv;
const { events } = JSON.parse(readFileSync(new URL('./spec-examples.json', import.meta.url)));
const base = new Date(baseTime).getTime();
const segment = new Analytics({ writeKey, host: hub, path: '/v1/batch', maxEventsInBatch: 20, flushInterval: 100 });
const errors = [];
segment.on('error', (e) => errors.push(String(e?.reason ?? e?.message ?? e)));
const sent = [];
events.forEach(({ event, properties }, i) => {
  const messageId = `${prefix}-${i}`;
  segment.track({ userId: 'u-spec', event, properties, messageId, timestamp: new Date(base + i * 60_000) });
  sent.push(messageId);
});
// The spec's page properties, without a URL in context (a server sends none).
segment.page({ userId: 'u-spec', name: 'Home', messageId: `${prefix}-page`, timestamp: new Date(base + events.length * 60_000),
  properties: { path: '/academy/', referrer: '', search: '', title: 'Analytics Academy', url: 'https://segment.com/academy/' } });
sent.push(`${prefix}-page`);
await segment.closeAndFlush({ timeout: 10000 });
console.log(JSON.stringify({ sent, errors }));
process.exit(errors.length ? 1 : 0);
