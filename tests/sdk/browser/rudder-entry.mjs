// The storefront's copy of RudderStack's browser SDK (analytics-js v3, plugins bundled in), from npm.
import { RudderAnalytics } from '@rudderstack/analytics-js/bundled';
window.RudderAnalytics = RudderAnalytics;
