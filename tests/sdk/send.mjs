// Sends one of each call through the real Segment and RudderStack Node SDKs to a hub, then
// flushes. Used by SdkCompatibilityTests: node send.mjs HUB_URL WRITE_KEY PREFIX
import { Analytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';

const [, , hub, writeKey, prefix] = process.argv;
const sent = [];

const segment = new Analytics({ writeKey, host: hub, path: '/v1/batch', maxEventsInBatch: 10, flushInterval: 100 });
const errors = [];
segment.on('error', (e) => errors.push(String(e?.reason ?? e?.message ?? e)));
const seg = (call, message) => {
  const messageId = `${prefix}-segment-${call}`;
  segment[call]({ ...message, messageId });
  sent.push(messageId);
};
seg('track', { userId: 'u-1', event: 'Order Completed', properties: {
  order_id: `${prefix}-o1`, store_id: 'st-1', total: 201, subtotal: 171, shipping: 30, currency: 'MXN',
  products: [{ product_id: 'p-1', quantity: 2, price: 85.5 }] } });
seg('page', { anonymousId: 'a-1', name: 'Home', properties: { url: 'https://shop.example/' } });
seg('screen', { userId: 'u-1', name: 'Cart' });
seg('identify', { userId: 'u-1', traits: { plan: 'pro' } });
seg('group', { userId: 'u-1', groupId: 'g-1', traits: { name: 'Acme' } });
seg('alias', { userId: 'u-1', previousId: 'a-1' });
await segment.closeAndFlush({ timeout: 10000 });

const rudder = new RudderAnalytics(writeKey, { dataPlaneUrl: hub, flushAt: 10, flushInterval: 100, maxInternalQueueSize: 100, retryCount: 0 });
const rud = (call, message) => new Promise((resolve) => {
  const messageId = `${prefix}-rudder-${call}`;
  rudder[call]({ ...message, messageId }, (err) => { if (err) errors.push(String(err)); resolve(); });
  sent.push(messageId);
});
const pending = [
  rud('track', { userId: 'u-2', event: 'Product Added', properties: { product_id: 'p-2', quantity: 1, price: 9.5, store_id: 'st-1' } }),
  rud('page', { anonymousId: 'a-2', name: 'Store', properties: { url: 'https://shop.example/st-1' } }),
  rud('identify', { userId: 'u-2', traits: { name: 'Ana' } }),
];
await rudder.flush();
await Promise.all(pending);

console.log(JSON.stringify({ sent, errors }));
process.exit(errors.length ? 1 : 0);
